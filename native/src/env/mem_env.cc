#include "ember/mem_env.h"

#include <cstring>
#include <memory>

namespace ember {
namespace {

class HeapSharedMemory final : public SharedMemory {
 public:
  explicit HeapSharedMemory(uint64_t size) : bytes_(new char[size]()), size_(size) {}

  char* data() const override { return bytes_.get(); }
  uint64_t size() const override { return size_; }
  int fd() const override { return -1; }

 private:
  std::unique_ptr<char[]> bytes_;
  const uint64_t size_;
};

}  // namespace

StatusOr<std::unique_ptr<SharedMemory>> MemEnv::NewSharedMemory(uint64_t size) {
  return std::unique_ptr<SharedMemory>(new HeapSharedMemory(size));
}

StatusOr<std::unique_ptr<SharedMemory>> MemEnv::MapSharedMemory(int /*fd*/, uint64_t /*size*/) {
  return Status::InvalidArgument("MemEnv memory has no descriptor to map");
}

Status MemEnv::WriteFile(const std::string& path, const char* data, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_writes_) return Status::IOError(path + ": injected write failure");
  files_[path].assign(data, n);
  return Status::OK();
}

Status MemEnv::ReadFile(const std::string& path, char* dst, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return Status::IOError(path + ": no such file");
  if (it->second.size() < n) return Status::IOError(path + ": file is shorter than expected");
  if (n > 0) std::memcpy(dst, it->second.data(), n);
  return Status::OK();
}

Status MemEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (files_.erase(path) == 0) return Status::IOError(path + ": no such file");
  return Status::OK();
}

StatusOr<std::string> MemEnv::CreateUniqueDir(const std::string& parent,
                                              const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = parent + "/" + prefix + std::to_string(next_dir_++);
  dirs_.insert(path);
  return path;
}

Status MemEnv::RemoveDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& file : files_) {
    if (file.first.compare(0, path.size() + 1, path + "/") == 0) {
      return Status::IOError(path + ": directory not empty");
    }
  }
  if (dirs_.erase(path) == 0) return Status::IOError(path + ": no such directory");
  return Status::OK();
}

size_t MemEnv::NumFiles() const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.size();
}

size_t MemEnv::NumDirs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirs_.size();
}

void MemEnv::SetFailWrites(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_writes_ = fail;
}

}  // namespace ember
