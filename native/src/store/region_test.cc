#include "ember/region.h"

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "ember/mem_env.h"
#include "store/parallel_copy.h"
#include "testing/testharness.h"

namespace ember {
namespace {

std::shared_ptr<SharedMemory> NewMemory(Env* env, uint64_t size) {
  return std::shared_ptr<SharedMemory>(env->NewSharedMemory(size).value().release());
}

}  // namespace

TEST(RegionTest, WriteThenSlice) {
  MemEnv env;
  Region region(NewMemory(&env, 1024));
  ASSERT_EQ(region.size(), 1024u);
  ASSERT_OK(region.Write(100, "hello", 5));
  auto slice = region.Slice(100, 5);
  ASSERT_OK(slice);
  ASSERT_EQ(std::string(slice->data, slice->size), "hello");
}

TEST(RegionTest, ReadFromFillsBytesFromAPipe) {
  MemEnv env;
  Region region(NewMemory(&env, 1024));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "transfer", 8), 8);
  ASSERT_OK(region.ReadFrom(fds[0], 10, 8));
  auto slice = region.Slice(10, 8);
  ASSERT_OK(slice);
  ASSERT_EQ(std::string(slice->data, slice->size), "transfer");
  ASSERT_EQ(write(fds[1], "abc", 3), 3);
  close(fds[1]);
  ASSERT_TRUE(region.ReadFrom(fds[0], 0, 8).IsIOError());  // the peer closed early
  ASSERT_TRUE(region.ReadFrom(fds[0], 1020, 8).IsInvalidArgument());
  close(fds[0]);
}

TEST(RegionTest, BoundsAreChecked) {
  MemEnv env;
  Region region(NewMemory(&env, 1024));
  ASSERT_OK(region.Write(1019, "hello", 5));
  ASSERT_OK(region.Slice(1024, 0));
  ASSERT_TRUE(region.Write(1020, "hello", 5).IsInvalidArgument());
  ASSERT_TRUE(region.Slice(1025, 0).status().IsInvalidArgument());
  ASSERT_TRUE(region.Slice(8, UINT64_MAX).status().IsInvalidArgument());  // no overflow
}

TEST(RegionTest, SlicesOutliveClose) {
  MemEnv env;
  std::weak_ptr<SharedMemory> watch;
  RegionSlice slice;
  {
    auto memory = NewMemory(&env, 64);
    watch = memory;
    Region region(std::move(memory));
    ASSERT_OK(region.Write(0, "abc", 3));
    slice = region.Slice(0, 3).value();
    region.Close();
    ASSERT_TRUE(region.closed());
    ASSERT_TRUE(region.Write(0, "x", 1).IsInvalidArgument());
    ASSERT_TRUE(region.Slice(0, 1).status().IsInvalidArgument());
    region.Close();  // idempotent
  }
  ASSERT_FALSE(watch.expired());
  ASSERT_EQ(std::string(slice.data, 3), "abc");
  slice = RegionSlice();
  ASSERT_TRUE(watch.expired());
}

TEST(RegionTest, LargeWritesAreCopiedCompletely) {
  MemEnv env;
  uint64_t n = kParallelCopyThreshold + 777;
  Region region(NewMemory(&env, n + 64));
  std::vector<char> data(n);
  for (uint64_t i = 0; i < n; ++i) data[i] = static_cast<char>(i % 251);
  ASSERT_OK(region.Write(64, data.data(), n));
  auto slice = region.Slice(64, n);
  ASSERT_OK(slice);
  ASSERT_EQ(std::memcmp(slice->data, data.data(), n), 0);
}

TEST(RegionTest, MapSharesMemoryThroughTheFd) {
  Env* env = Env::Default();
  auto memory = NewMemory(env, 4096);
  auto mapped = Region::Map(env, memory->fd(), 4096);
  ASSERT_OK(mapped);
  ASSERT_OK((*mapped)->Write(10, "shared", 6));
  ASSERT_EQ(std::string(memory->data() + 10, 6), "shared");
  ASSERT_TRUE(Region::Map(env, memory->fd(), 8192).status().IsInvalidArgument());
}

}  // namespace ember
