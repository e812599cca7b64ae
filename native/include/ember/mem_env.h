// MemEnv is an Env that keeps files in a map and shared memory on the heap,
// for unit tests: nothing touches the disk and failures can be injected.
// Its shared memory has no descriptor (fd() is -1) and MapSharedMemory fails.
//
// Thread-safety: safe for concurrent use (one internal mutex).

#ifndef EMBER_MEM_ENV_H_
#define EMBER_MEM_ENV_H_

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "ember/env.h"
#include "ember/thread_annotations.h"

namespace ember {

class MemEnv final : public Env {
 public:
  MemEnv() = default;

  StatusOr<std::unique_ptr<SharedMemory>> NewSharedMemory(uint64_t size) override;
  StatusOr<std::unique_ptr<SharedMemory>> MapSharedMemory(int fd, uint64_t size) override;
  Status WriteFile(const std::string& path, const char* data, uint64_t n) override;
  Status ReadFile(const std::string& path, char* dst, uint64_t n) override;
  Status RemoveFile(const std::string& path) override;
  StatusOr<std::string> CreateUniqueDir(const std::string& parent,
                                        const std::string& prefix) override;
  Status RemoveDir(const std::string& path) override;

  // Test hooks.
  size_t NumFiles() const;
  size_t NumDirs() const;
  // While set, WriteFile fails with an IOError (a full or broken disk).
  void SetFailWrites(bool fail);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> files_ GUARDED_BY(mu_);
  std::set<std::string> dirs_ GUARDED_BY(mu_);
  int next_dir_ GUARDED_BY(mu_) = 0;
  bool fail_writes_ GUARDED_BY(mu_) = false;
};

}  // namespace ember

#endif  // EMBER_MEM_ENV_H_
