// SharedMemory is a mapped block of bytes that other processes may map too
// (when it has a file descriptor). It is produced by an Env and unmapped when
// the object is destroyed, so holders keep it alive with a shared_ptr.
//
// Thread-safety: the accessors are const and safe from any thread; what the
// bytes mean, and who may write them when, is up to the owner.

#ifndef EMBER_SHARED_MEMORY_H_
#define EMBER_SHARED_MEMORY_H_

#include <cstdint>

namespace ember {

class SharedMemory {
 public:
  SharedMemory() = default;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  virtual ~SharedMemory() = default;

  // First byte of the mapping; may be null when size() is 0.
  virtual char* data() const = 0;
  virtual uint64_t size() const = 0;
  // A descriptor another process can map, or -1 for process-private memory.
  // Owned by this object: closed on destruction.
  virtual int fd() const = 0;
};

}  // namespace ember

#endif  // EMBER_SHARED_MEMORY_H_
