#include "store/parallel_copy.h"

#include <cstring>
#include <vector>

#include "testing/testharness.h"

namespace ember {

TEST(ParallelCopyTest, SmallCopiesUseOneThread) {
  ASSERT_EQ(ParallelCopyThreads(0), 1);
  ASSERT_EQ(ParallelCopyThreads(kParallelCopyThreshold - 1), 1);
  ASSERT_GE(ParallelCopyThreads(kParallelCopyThreshold), 2);
  ASSERT_LE(ParallelCopyThreads(uint64_t{1} << 34), 4);
}

TEST(ParallelCopyTest, CopiesEveryByte) {
  // Sizes around the threshold, including ones not a multiple of a page.
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, kParallelCopyThreshold,
                     kParallelCopyThreshold + 12345, 3 * kParallelCopyThreshold + 1}) {
    std::vector<char> src(n), dst(n + 1, 'x');
    for (uint64_t i = 0; i < n; ++i) src[i] = static_cast<char>(i * 31 + 7);
    ParallelCopy(dst.data(), src.data(), n);
    ASSERT_TRUE(n == 0 || std::memcmp(dst.data(), src.data(), n) == 0);
    ASSERT_EQ(dst[n], 'x');  // nothing written past the end
  }
}

}  // namespace ember
