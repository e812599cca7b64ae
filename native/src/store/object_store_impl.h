// ObjectStoreImpl is the ObjectStore behind ObjectStore::Open: an object
// table, an Allocator over the shared memory, an LRU of sealed in-memory
// objects, and spill files in a private subdirectory of the spill dir.
//
// Thread-safety: every public method takes mu_; the private helpers require
// it held. Disk I/O for spilling runs under mu_ too: the store has a single
// owner and spilling is already the slow path, so simplicity wins.

#ifndef EMBER_STORE_OBJECT_STORE_IMPL_H_
#define EMBER_STORE_OBJECT_STORE_IMPL_H_

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/object_store.h"
#include "ember/thread_annotations.h"
#include "store/allocator.h"
#include "store/lru_list.h"

namespace ember {

class ObjectStoreImpl final : public ObjectStore {
 public:
  ObjectStoreImpl(const ObjectStoreOptions& options, Env* env,
                  std::shared_ptr<SharedMemory> memory);
  ~ObjectStoreImpl() override;

  std::shared_ptr<SharedMemory> memory() const override { return memory_; }
  uint64_t capacity() const override { return memory_->size(); }

  StatusOr<uint64_t> Create(const std::string& id, uint64_t size, bool evictable) override;
  Status Seal(const std::string& id) override;
  Status Abort(const std::string& id) override;
  StatusOr<ObjectLocation> Get(const std::string& id) override;
  Status Release(const std::string& id) override;
  Status Remove(const std::string& id) override;
  bool Contains(const std::string& id) override;
  ObjectStoreStats GetStats() override;
  std::vector<ObjectInfo> ListObjects() override;

 private:
  struct Entry {
    uint64_t offset = 0;  // meaningless while spilled; 0 for empty objects
    uint64_t size = 0;
    ObjectState state = ObjectState::kCreated;
    int pins = 0;
    bool evictable = false;
    bool removed = false;  // hidden; erased when the last pin goes
  };
  using Table = std::unordered_map<std::string, Entry>;

  // Returns memory for `size` bytes, evicting or spilling others if needed.
  StatusOr<uint64_t> Allocate(uint64_t size) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status MakeRoom(uint64_t size) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Bytes that evicting and spilling every candidate would free, plus free.
  uint64_t ReclaimableBytes() const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The least recently used unpinned, non-empty object that is evictable (or
  // not), or end().
  Table::iterator OldestUnpinned(bool evictable) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status Spill(Table::iterator it) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status Restore(Table::iterator it) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the object: memory, spill file, LRU position and table entry.
  void Erase(Table::iterator it) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The visible (not removed) entry for `id`, or end().
  Table::iterator FindVisible(const std::string& id) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string SpillPath(const std::string& id) const EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env* const env_;
  const std::shared_ptr<SharedMemory> memory_;
  const std::string spill_root_;  // empty: spilling disabled

  std::mutex mu_;
  Allocator allocator_ GUARDED_BY(mu_);
  Table objects_ GUARDED_BY(mu_);
  LruList lru_ GUARDED_BY(mu_);                // sealed, in memory, not removed
  std::string spill_dir_ GUARDED_BY(mu_);      // created on the first spill
  ObjectStoreStats counters_ GUARDED_BY(mu_);  // the running totals only
};

}  // namespace ember

#endif  // EMBER_STORE_OBJECT_STORE_IMPL_H_
