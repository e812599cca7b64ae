// An Env is the store's window onto the operating system: shared memory and
// the few file operations that spilling needs. Production code uses
// Env::Default() (Linux: memfd + mmap, POSIX files); unit tests use a MemEnv
// (see mem_env.h) so that they run in memory and can inject failures.
//
// Thread-safety: all Env implementations must be safe for concurrent use by
// multiple threads without external synchronization.

#ifndef EMBER_ENV_H_
#define EMBER_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ember/shared_memory.h"
#include "ember/status.h"
#include "ember/statusor.h"

namespace ember {

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // The process-wide OS environment. Never deleted.
  static Env* Default();

  // Creates `size` bytes of zeroed memory. The default Env backs it with an
  // anonymous memfd: nothing appears in the file system, so nothing is left
  // behind when every process holding it dies, and pages are only allocated
  // when first touched.
  virtual StatusOr<std::unique_ptr<SharedMemory>> NewSharedMemory(uint64_t size) = 0;

  // Maps `size` bytes of the memory behind `fd` (as made by NewSharedMemory,
  // possibly in another process) read/write and shared. `fd` stays owned by
  // the caller; the mapping does not need it to stay open.
  virtual StatusOr<std::unique_ptr<SharedMemory>> MapSharedMemory(int fd, uint64_t size) = 0;

  // Replaces the file at `path` with `n` bytes from `data`.
  virtual Status WriteFile(const std::string& path, const char* data, uint64_t n) = 0;
  // Reads exactly `n` bytes of the file at `path` into `dst`; a shorter file
  // is an IOError.
  virtual Status ReadFile(const std::string& path, char* dst, uint64_t n) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;

  // Creates `parent` (and its parents) if needed, then a new directory inside
  // it whose name starts with `prefix` and that no other caller gets; returns
  // its path.
  virtual StatusOr<std::string> CreateUniqueDir(const std::string& parent,
                                                const std::string& prefix) = 0;
  // Removes an empty directory.
  virtual Status RemoveDir(const std::string& path) = 0;
};

}  // namespace ember

#endif  // EMBER_ENV_H_
