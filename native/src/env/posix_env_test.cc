#include <string>

#include "ember/env.h"
#include "testing/testharness.h"

namespace ember {

TEST(PosixEnvTest, SharedMemoryIsZeroedAndHasAnFd) {
  auto mem = Env::Default()->NewSharedMemory(1 << 20);
  ASSERT_OK(mem);
  ASSERT_GE((*mem)->fd(), 0);
  ASSERT_EQ((*mem)->size(), uint64_t{1 << 20});
  ASSERT_EQ((*mem)->data()[12345], 0);
}

TEST(PosixEnvTest, SecondMappingSeesTheSameBytes) {
  Env* env = Env::Default();
  auto mem = env->NewSharedMemory(4096);
  ASSERT_OK(mem);
  auto other = env->MapSharedMemory((*mem)->fd(), 4096);
  ASSERT_OK(other);
  ASSERT_EQ((*other)->fd(), -1);  // the mapping does not own the descriptor
  (*mem)->data()[100] = 42;
  ASSERT_EQ((*other)->data()[100], 42);
  (*other)->data()[200] = 7;
  ASSERT_EQ((*mem)->data()[200], 7);
}

TEST(PosixEnvTest, MappingPastTheEndIsRefused) {
  Env* env = Env::Default();
  auto mem = env->NewSharedMemory(4096);
  ASSERT_OK(mem);
  ASSERT_TRUE(env->MapSharedMemory((*mem)->fd(), 8192).status().IsInvalidArgument());
  ASSERT_TRUE(env->MapSharedMemory(-1, 10).status().IsInvalidArgument());
}

TEST(PosixEnvTest, ZeroSizedMemory) {
  auto mem = Env::Default()->NewSharedMemory(0);
  ASSERT_OK(mem);
  ASSERT_EQ((*mem)->size(), 0u);
}

TEST(PosixEnvTest, FilesRoundTrip) {
  Env* env = Env::Default();
  std::string root = test::NewTempDir();
  auto dir = env->CreateUniqueDir(root + "/a/b", "spill-");
  ASSERT_OK(dir);
  auto dir2 = env->CreateUniqueDir(root + "/a/b", "spill-");
  ASSERT_OK(dir2);
  ASSERT_NE(*dir, *dir2);

  std::string path = *dir + "/obj";
  ASSERT_OK(env->WriteFile(path, "hello", 5));
  char buf[5];
  ASSERT_OK(env->ReadFile(path, buf, 5));
  ASSERT_EQ(std::string(buf, 5), "hello");
  char big[10];
  ASSERT_TRUE(env->ReadFile(path, big, 10).IsIOError());  // short file
  ASSERT_OK(env->RemoveFile(path));
  ASSERT_TRUE(env->ReadFile(path, buf, 5).IsIOError());
  ASSERT_TRUE(env->RemoveFile(path).IsIOError());

  ASSERT_OK(env->RemoveDir(*dir));
  ASSERT_OK(env->RemoveDir(*dir2));
  ASSERT_OK(env->RemoveDir(root + "/a/b"));
  ASSERT_OK(env->RemoveDir(root + "/a"));
  ASSERT_OK(env->RemoveDir(root));
}

}  // namespace ember
