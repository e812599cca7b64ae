// ObjectStore manages immutable objects in one SharedMemory region for a
// node. Exactly one process (the node manager) owns the store and performs
// every allocation; other processes map the same memory (SharedMemory::fd)
// and learn offsets from the owner over IPC.
//
// Object life cycle:
//   Create -> (write the bytes) -> Seal -> Get/Release ... -> Remove
//             \-> Abort
// A created object is pinned by its creator until Seal or Abort. Get pins a
// sealed object (a count); Release unpins once. Pinned objects are never
// moved: their offset stays valid until the last Release.
//
// Making room: when an allocation does not fit, the store first drops
// evictable, unpinned, sealed objects in least-recently-used order (they are
// secondary copies that can be fetched again), then, if a spill directory is
// configured, writes unpinned sealed primary objects to disk in LRU order
// and frees their memory. Get restores a spilled object transparently.
//
// Remove of a pinned object hides it at once (Contains is false, Get is
// NotFound, it leaves ListObjects and num_objects) and frees the memory when
// the last pin is released; until then Create of the same id is
// AlreadyExists.
//
// Thread-safety: all methods are safe for concurrent use; one internal mutex
// serializes them, including the disk I/O of spilling and restoring.

#ifndef EMBER_OBJECT_STORE_H_
#define EMBER_OBJECT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/env.h"
#include "ember/shared_memory.h"
#include "ember/status.h"
#include "ember/statusor.h"

namespace ember {

struct ObjectStoreOptions {
  // Bytes of shared memory. Pages are allocated lazily by the OS.
  uint64_t capacity = 0;
  // Directory for spill files; empty (the default) disables spilling. The
  // store writes into a fresh subdirectory that it removes when destroyed.
  std::string spill_dir;
  // OS access; nullptr (the default) means Env::Default(). Not owned; must
  // outlive the store.
  Env* env = nullptr;
};

enum class ObjectState { kCreated, kSealed, kSpilled };

// "CREATED", "SEALED" or "SPILLED".
const char* ObjectStateName(ObjectState state);

struct ObjectLocation {
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct ObjectInfo {
  std::string id;
  uint64_t size = 0;
  ObjectState state = ObjectState::kCreated;
  int pins = 0;
};

struct ObjectStoreStats {
  uint64_t capacity = 0;
  uint64_t used_bytes = 0;  // allocated, including 64-byte alignment padding
  uint64_t num_objects = 0;
  uint64_t num_pinned = 0;
  uint64_t num_spilled = 0;
  uint64_t spilled_bytes_current = 0;
  uint64_t spilled_total = 0;  // objects written to disk, ever
  uint64_t spilled_bytes_total = 0;
  uint64_t restored_total = 0;  // objects read back from disk, ever
  uint64_t restored_bytes_total = 0;
  uint64_t evicted_total = 0;  // evictable objects dropped for room, ever
  uint64_t evicted_bytes_total = 0;
};

class ObjectStore {
 public:
  // Allocates the shared memory and returns an empty store.
  static StatusOr<std::unique_ptr<ObjectStore>> Open(const ObjectStoreOptions& options);

  ObjectStore() = default;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;
  // Removes remaining spill files. Memory stays mapped while anyone still
  // holds memory().
  virtual ~ObjectStore() = default;

  virtual std::shared_ptr<SharedMemory> memory() const = 0;
  virtual uint64_t capacity() const = 0;

  // Reserves `size` bytes (64-byte aligned offset) for a new unsealed object
  // pinned by its creator. Size 0 is allowed. Errors: AlreadyExists;
  // StoreFull if size > capacity or no room can be made; IOError if spilling
  // failed; InvalidArgument for an empty id.
  virtual StatusOr<uint64_t> Create(const std::string& id, uint64_t size, bool evictable) = 0;
  // Makes a created object readable, drops the creator's pin, marks it most
  // recently used. NotFound; InvalidArgument if already sealed.
  virtual Status Seal(const std::string& id) = 0;
  // Drops an unsealed object. NotFound; InvalidArgument if sealed.
  virtual Status Abort(const std::string& id) = 0;
  // Pins a sealed object and returns where it is, restoring it from disk
  // first if it was spilled. NotFound if unknown or unsealed; StoreFull or
  // IOError if a spilled object cannot be restored.
  virtual StatusOr<ObjectLocation> Get(const std::string& id) = 0;
  // Drops one pin taken by Get. NotFound; InvalidArgument if not pinned.
  virtual Status Release(const std::string& id) = 0;
  // Deletes an object (see the class comment for pinned objects) and its
  // spill file. NotFound if unknown or already removed.
  virtual Status Remove(const std::string& id) = 0;
  // True if the object is sealed, in memory or spilled.
  virtual bool Contains(const std::string& id) = 0;

  virtual ObjectStoreStats GetStats() = 0;
  virtual std::vector<ObjectInfo> ListObjects() = 0;
};

}  // namespace ember

#endif  // EMBER_OBJECT_STORE_H_
