// A Region is a bounds-checked handle on a store's SharedMemory: the node
// manager wraps its own mapping in one, other processes map the store's fd
// with Region::Map. Slices share ownership of the mapping, so memory handed
// out as a zero-copy view stays mapped until the last view is gone, even if
// the Region (or the store) is closed first.
//
// Thread-safety: safe for concurrent use. Writes to overlapping bytes from
// several threads race as plain memory would; keeping writers apart is the
// object store's job (one creator per unsealed object).

#ifndef EMBER_REGION_H_
#define EMBER_REGION_H_

#include <cstdint>
#include <memory>
#include <mutex>

#include "ember/env.h"
#include "ember/shared_memory.h"
#include "ember/status.h"
#include "ember/statusor.h"
#include "ember/thread_annotations.h"

namespace ember {

// Bytes [data, data + size) of a mapping, kept alive by `memory`.
struct RegionSlice {
  std::shared_ptr<SharedMemory> memory;
  char* data = nullptr;
  uint64_t size = 0;
};

class Region {
 public:
  explicit Region(std::shared_ptr<SharedMemory> memory);
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  // Maps `size` bytes of the shared memory behind `fd` through `env`.
  static StatusOr<std::unique_ptr<Region>> Map(Env* env, int fd, uint64_t size);

  // The size the region was opened with (unchanged by Close).
  uint64_t size() const { return size_; }
  bool closed() const;

  // Copies `n` bytes to [offset, offset + n). Copies of 8 MiB or more are
  // split across a few threads. InvalidArgument if out of bounds or closed.
  Status Write(uint64_t offset, const void* src, uint64_t n);

  // Reads exactly `n` bytes from the stream socket or pipe `fd` straight into
  // [offset, offset + n): the one copy an object transfer needs. IOError if
  // the peer closes early or the read fails; InvalidArgument if out of bounds.
  Status ReadFrom(int fd, uint64_t offset, uint64_t n);

  // Returns [offset, offset + n) without copying. InvalidArgument if out of
  // bounds or closed.
  StatusOr<RegionSlice> Slice(uint64_t offset, uint64_t n) const;

  // Drops this handle's reference; the memory is unmapped once no slice (and
  // no store) holds it either. Idempotent.
  void Close();

 private:
  Status CheckBounds(uint64_t offset, uint64_t n) const;

  const uint64_t size_;
  mutable std::mutex mu_;
  std::shared_ptr<SharedMemory> memory_ GUARDED_BY(mu_);
};

}  // namespace ember

#endif  // EMBER_REGION_H_
