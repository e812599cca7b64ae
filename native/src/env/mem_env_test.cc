#include "ember/mem_env.h"

#include <string>

#include "testing/testharness.h"

namespace ember {

TEST(MemEnvTest, SharedMemoryIsZeroedHeapMemory) {
  MemEnv env;
  auto mem = env.NewSharedMemory(1000);
  ASSERT_OK(mem);
  ASSERT_EQ((*mem)->fd(), -1);
  ASSERT_EQ((*mem)->data()[999], 0);
  ASSERT_TRUE(env.MapSharedMemory(3, 1000).status().IsInvalidArgument());
}

TEST(MemEnvTest, FilesRoundTrip) {
  MemEnv env;
  auto dir = env.CreateUniqueDir("spill", "x-");
  ASSERT_OK(dir);
  ASSERT_EQ(env.NumDirs(), 1u);
  std::string path = *dir + "/f";
  ASSERT_OK(env.WriteFile(path, "abc", 3));
  ASSERT_EQ(env.NumFiles(), 1u);
  char buf[3];
  ASSERT_OK(env.ReadFile(path, buf, 3));
  ASSERT_EQ(std::string(buf, 3), "abc");
  ASSERT_TRUE(env.ReadFile(path, buf, 4).IsIOError());
  ASSERT_TRUE(env.RemoveDir(*dir).IsIOError());  // not empty
  ASSERT_OK(env.RemoveFile(path));
  ASSERT_TRUE(env.RemoveFile(path).IsIOError());
  ASSERT_OK(env.RemoveDir(*dir));
  ASSERT_EQ(env.NumDirs(), 0u);
}

TEST(MemEnvTest, InjectedWriteFailures) {
  MemEnv env;
  env.SetFailWrites(true);
  ASSERT_TRUE(env.WriteFile("f", "a", 1).IsIOError());
  ASSERT_EQ(env.NumFiles(), 0u);
  env.SetFailWrites(false);
  ASSERT_OK(env.WriteFile("f", "a", 1));
}

}  // namespace ember
