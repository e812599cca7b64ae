#include "store/allocator.h"

#include <iterator>
#include <string>

namespace ember {

Allocator::Allocator(uint64_t capacity) : capacity_(capacity) {
  if (capacity > 0) InsertFree(0, capacity);
}

uint64_t Allocator::RoundUp(uint64_t size) {
  return (size + kAlignment - 1) / kAlignment * kAlignment;
}

std::optional<Allocator::Fit> Allocator::FindBestFit(uint64_t size) const {
  const uint64_t rounded = RoundUp(size);
  std::optional<Fit> best;
  auto it = free_by_length_.lower_bound({rounded, 0});
  if (it != free_by_length_.end()) best = Fit{it->second, rounded};
  // The last free block may be shorter than `rounded` yet still hold `size`
  // bytes when the capacity is not a multiple of the alignment.
  if (!free_by_offset_.empty()) {
    auto last = std::prev(free_by_offset_.end());
    bool at_end = last->first + last->second == capacity_;
    if (at_end && last->second >= size && last->second < rounded &&
        (!best || last->second < best->length)) {
      best = Fit{last->first, last->second};
    }
  }
  return best;
}

StatusOr<uint64_t> Allocator::Allocate(uint64_t size) {
  if (size == 0) return Status::InvalidArgument("cannot allocate 0 bytes");
  std::optional<Fit> fit = FindBestFit(size);
  if (!fit) {
    return Status::StoreFull("no free block of " + std::to_string(size) + " bytes (" +
                             std::to_string(free_bytes()) + " bytes free in " +
                             std::to_string(num_free_blocks()) + " blocks)");
  }
  uint64_t block_length = free_by_offset_.at(fit->offset);
  EraseFree(fit->offset, block_length);
  if (block_length > fit->length) InsertFree(fit->offset + fit->length, block_length - fit->length);
  allocated_[fit->offset] = fit->length;
  used_ += fit->length;
  return fit->offset;
}

bool Allocator::CanAllocate(uint64_t size) const {
  return size > 0 && FindBestFit(size).has_value();
}

Status Allocator::Free(uint64_t offset) {
  auto it = allocated_.find(offset);
  if (it == allocated_.end()) {
    return Status::InvalidArgument("offset " + std::to_string(offset) + " is not allocated");
  }
  uint64_t length = it->second;
  allocated_.erase(it);
  used_ -= length;

  // Merge with the free block right after, then the one right before.
  auto next = free_by_offset_.find(offset + length);
  if (next != free_by_offset_.end()) {
    uint64_t next_length = next->second;
    EraseFree(next->first, next_length);
    length += next_length;
  }
  auto after = free_by_offset_.lower_bound(offset);
  if (after != free_by_offset_.begin()) {
    auto prev = std::prev(after);
    if (prev->first + prev->second == offset) {
      uint64_t prev_offset = prev->first;
      uint64_t prev_length = prev->second;
      EraseFree(prev_offset, prev_length);
      offset = prev_offset;
      length += prev_length;
    }
  }
  InsertFree(offset, length);
  return Status::OK();
}

uint64_t Allocator::LargestFreeBlock() const {
  return free_by_length_.empty() ? 0 : free_by_length_.rbegin()->first;
}

void Allocator::InsertFree(uint64_t offset, uint64_t length) {
  free_by_offset_[offset] = length;
  free_by_length_.insert({length, offset});
}

void Allocator::EraseFree(uint64_t offset, uint64_t length) {
  free_by_offset_.erase(offset);
  free_by_length_.erase({length, offset});
}

}  // namespace ember
