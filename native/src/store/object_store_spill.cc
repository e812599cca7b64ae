// The part of ObjectStoreImpl that makes room: allocation with eviction,
// spilling and restoring.

#include <string>

#include "store/object_store_impl.h"
#include "util/hex.h"

namespace ember {

StatusOr<uint64_t> ObjectStoreImpl::Allocate(uint64_t size) {
  if (size == 0) return uint64_t{0};  // empty objects take no memory
  Status s = MakeRoom(size);
  if (!s.ok()) return s;
  return allocator_.Allocate(size);
}

Status ObjectStoreImpl::MakeRoom(uint64_t size) {
  if (size > allocator_.capacity()) {
    return Status::StoreFull("object of " + std::to_string(size) +
                             " bytes is larger than the store (" +
                             std::to_string(allocator_.capacity()) + " bytes)");
  }
  // Refuse early rather than evict or spill objects for nothing.
  if (!allocator_.CanAllocate(size) && ReclaimableBytes() < Allocator::RoundUp(size)) {
    return Status::StoreFull("cannot make room for " + std::to_string(size) +
                             " bytes: " + std::to_string(allocator_.used()) + " of " +
                             std::to_string(allocator_.capacity()) +
                             " bytes in use by pinned objects" +
                             (spill_root_.empty() ? " or objects that cannot be spilled" : ""));
  }
  while (!allocator_.CanAllocate(size)) {
    // Secondary copies go first: they cost nothing to drop.
    auto victim = OldestUnpinned(/*evictable=*/true);
    if (victim != objects_.end()) {
      ++counters_.evicted_total;
      counters_.evicted_bytes_total += victim->second.size;
      Erase(victim);
      continue;
    }
    victim = spill_root_.empty() ? objects_.end() : OldestUnpinned(/*evictable=*/false);
    if (victim == objects_.end()) {
      return Status::StoreFull("cannot make room for " + std::to_string(size) +
                               " bytes: the free memory is fragmented between pinned objects");
    }
    Status s = Spill(victim);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

uint64_t ObjectStoreImpl::ReclaimableBytes() const {
  uint64_t bytes = allocator_.free_bytes();
  for (const std::string& id : lru_.order()) {
    const Entry& entry = objects_.at(id);
    if (entry.pins == 0 && (entry.evictable || !spill_root_.empty())) {
      bytes += Allocator::RoundUp(entry.size);
    }
  }
  return bytes;
}

ObjectStoreImpl::Table::iterator ObjectStoreImpl::OldestUnpinned(bool evictable) {
  for (const std::string& id : lru_.order()) {
    auto it = objects_.find(id);
    const Entry& entry = it->second;
    if (entry.pins == 0 && entry.size > 0 && entry.evictable == evictable) return it;
  }
  return objects_.end();
}

std::string ObjectStoreImpl::SpillPath(const std::string& id) const {
  return spill_dir_ + "/" + Hex(id);
}

Status ObjectStoreImpl::Spill(Table::iterator it) {
  if (spill_dir_.empty()) {
    // A private subdirectory, so that stores sharing a spill dir never
    // collide on file names.
    StatusOr<std::string> dir = env_->CreateUniqueDir(spill_root_, "ember-spill-");
    if (!dir.ok()) return dir.status();
    spill_dir_ = *dir;
  }
  Entry& entry = it->second;
  Status s = env_->WriteFile(SpillPath(it->first), memory_->data() + entry.offset, entry.size);
  if (!s.ok()) return s;
  allocator_.Free(entry.offset);
  lru_.Remove(it->first);
  entry.state = ObjectState::kSpilled;
  entry.offset = 0;
  ++counters_.spilled_total;
  counters_.spilled_bytes_total += entry.size;
  counters_.spilled_bytes_current += entry.size;
  return Status::OK();
}

Status ObjectStoreImpl::Restore(Table::iterator it) {
  Entry& entry = it->second;
  // May evict or spill others, never this entry: it is not in the LRU.
  StatusOr<uint64_t> offset = Allocate(entry.size);
  if (!offset.ok()) return offset.status();
  const std::string path = SpillPath(it->first);
  if (entry.size > 0) {
    Status s = env_->ReadFile(path, memory_->data() + *offset, entry.size);
    if (!s.ok()) {
      allocator_.Free(*offset);
      return s;
    }
  }
  env_->RemoveFile(path);  // best effort: the bytes are back in memory
  entry.state = ObjectState::kSealed;
  entry.offset = *offset;
  counters_.spilled_bytes_current -= entry.size;
  ++counters_.restored_total;
  counters_.restored_bytes_total += entry.size;
  lru_.Touch(it->first);
  return Status::OK();
}

}  // namespace ember
