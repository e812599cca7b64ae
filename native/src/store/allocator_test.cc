#include "store/allocator.h"

#include <vector>

#include "testing/testharness.h"

namespace ember {

TEST(AllocatorTest, OffsetsAreAligned) {
  Allocator alloc(1 << 20);
  std::vector<uint64_t> sizes = {1, 63, 64, 65, 100, 1000, 4097};
  for (uint64_t size : sizes) {
    auto offset = alloc.Allocate(size);
    ASSERT_OK(offset);
    ASSERT_EQ(*offset % Allocator::kAlignment, 0u);
  }
  ASSERT_EQ(alloc.used(), 64u + 64 + 64 + 128 + 128 + 1024 + 4160);
}

TEST(AllocatorTest, ZeroAndOversizedRequestsFail) {
  Allocator alloc(1024);
  ASSERT_TRUE(alloc.Allocate(0).status().IsInvalidArgument());
  ASSERT_TRUE(alloc.Allocate(1025).status().IsStoreFull());
  ASSERT_FALSE(alloc.CanAllocate(1025));
  ASSERT_OK(alloc.Allocate(1024));
  ASSERT_TRUE(alloc.Allocate(1).status().IsStoreFull());
}

TEST(AllocatorTest, BestFitPicksTheSmallestHole) {
  Allocator alloc(64 * 10);
  uint64_t a = *alloc.Allocate(64 * 3);  // [0, 3)
  uint64_t b = *alloc.Allocate(64);      // [3, 4)
  uint64_t c = *alloc.Allocate(64);      // [4, 5)
  uint64_t d = *alloc.Allocate(64);      // [5, 6), then 4 blocks free
  ASSERT_OK(alloc.Free(a));              // hole of 3 blocks at 0
  ASSERT_OK(alloc.Free(c));              // hole of 1 block at 4
  (void)b;
  (void)d;
  // One block fits the 1-block hole exactly, not the 3-block one.
  ASSERT_EQ(*alloc.Allocate(10), 64u * 4);
  // Three blocks: the 3-block hole beats the 4-block tail.
  ASSERT_EQ(*alloc.Allocate(64 * 3), 0u);
  ASSERT_EQ(*alloc.Allocate(64 * 4), 64u * 6);
  ASSERT_EQ(alloc.free_bytes(), 0u);
}

TEST(AllocatorTest, FragmentationBlocksLargeRequestsUntilCoalesced) {
  Allocator alloc(64 * 4);
  uint64_t offsets[4];
  for (uint64_t& o : offsets) o = *alloc.Allocate(64);
  ASSERT_OK(alloc.Free(offsets[0]));
  ASSERT_OK(alloc.Free(offsets[2]));
  // 128 bytes free, but in two separate 64-byte holes.
  ASSERT_EQ(alloc.free_bytes(), 128u);
  ASSERT_EQ(alloc.num_free_blocks(), 2u);
  ASSERT_FALSE(alloc.CanAllocate(128));
  // Freeing the block between the holes joins all three.
  ASSERT_OK(alloc.Free(offsets[1]));
  ASSERT_EQ(alloc.num_free_blocks(), 1u);
  ASSERT_EQ(alloc.LargestFreeBlock(), 192u);
  ASSERT_EQ(*alloc.Allocate(192), 0u);
}

TEST(AllocatorTest, CoalescesWithBothNeighbours) {
  Allocator alloc(64 * 8);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 8; ++i) offsets.push_back(*alloc.Allocate(64));
  // Free in an order that exercises merge-with-next, merge-with-prev and both.
  for (int i : {1, 3, 2, 0, 7, 5, 6, 4}) ASSERT_OK(alloc.Free(offsets[i]));
  ASSERT_EQ(alloc.num_free_blocks(), 1u);
  ASSERT_EQ(alloc.LargestFreeBlock(), 64u * 8);
  ASSERT_EQ(alloc.used(), 0u);
}

TEST(AllocatorTest, DoubleFreeAndUnknownOffsetsAreRejected) {
  Allocator alloc(1024);
  uint64_t a = *alloc.Allocate(100);
  ASSERT_TRUE(alloc.Free(a + 64).IsInvalidArgument());
  ASSERT_OK(alloc.Free(a));
  ASSERT_TRUE(alloc.Free(a).IsInvalidArgument());
}

TEST(AllocatorTest, UnalignedCapacityUsesTheTail) {
  Allocator alloc(100);
  auto whole = alloc.Allocate(100);
  ASSERT_OK(whole);
  ASSERT_EQ(*whole, 0u);
  ASSERT_EQ(alloc.used(), 100u);
  ASSERT_OK(alloc.Free(*whole));

  ASSERT_EQ(*alloc.Allocate(10), 0u);  // takes [0, 64)
  auto tail = alloc.Allocate(30);      // 36-byte tail holds 30 bytes
  ASSERT_OK(tail);
  ASSERT_EQ(*tail, 64u);
  ASSERT_EQ(alloc.free_bytes(), 0u);
}

TEST(AllocatorTest, EmptyRegion) {
  Allocator alloc(0);
  ASSERT_FALSE(alloc.CanAllocate(1));
  ASSERT_EQ(alloc.LargestFreeBlock(), 0u);
}

}  // namespace ember
