// Allocator hands out byte ranges of a region [0, capacity): best fit (the
// smallest free block that is large enough, lowest offset on ties), with
// neighbouring free blocks coalesced on Free. Offsets are multiples of
// kAlignment (64 bytes: a cache line, and enough for any SIMD load), and
// blocks are rounded up to it, except a block that ends at the region's end
// when the capacity is not itself a multiple.
//
// The bookkeeping lives in private memory, never in the shared region, so no
// other process can corrupt it; only the store's owner allocates.
//
// Thread-safety: not thread-safe; the object store's mutex guards it.

#ifndef EMBER_STORE_ALLOCATOR_H_
#define EMBER_STORE_ALLOCATOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "ember/status.h"
#include "ember/statusor.h"

namespace ember {

class Allocator {
 public:
  static constexpr uint64_t kAlignment = 64;

  explicit Allocator(uint64_t capacity);
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Returns the offset of a new block of at least `size` (> 0) bytes;
  // StoreFull if no free block is large enough; InvalidArgument for size 0.
  StatusOr<uint64_t> Allocate(uint64_t size);
  bool CanAllocate(uint64_t size) const;
  // Frees a block returned by Allocate; InvalidArgument for any other offset.
  Status Free(uint64_t offset);

  // `size` rounded up to the alignment: what a block of `size` costs.
  static uint64_t RoundUp(uint64_t size);

  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_; }
  uint64_t free_bytes() const { return capacity_ - used_; }
  size_t num_free_blocks() const { return free_by_offset_.size(); }
  uint64_t LargestFreeBlock() const;

 private:
  struct Fit {
    uint64_t offset;
    uint64_t length;  // bytes the new block takes from the free block
  };

  std::optional<Fit> FindBestFit(uint64_t size) const;
  void InsertFree(uint64_t offset, uint64_t length);
  void EraseFree(uint64_t offset, uint64_t length);

  const uint64_t capacity_;
  uint64_t used_ = 0;
  std::map<uint64_t, uint64_t> free_by_offset_;             // offset -> length
  std::set<std::pair<uint64_t, uint64_t>> free_by_length_;  // (length, offset)
  std::unordered_map<uint64_t, uint64_t> allocated_;        // offset -> length
};

}  // namespace ember

#endif  // EMBER_STORE_ALLOCATOR_H_
