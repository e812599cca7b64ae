// Env::Default() for Linux: memfd-backed shared memory and POSIX files.

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "ember/env.h"

namespace ember {
namespace {

Status PosixError(const std::string& context, int err) {
  return Status::IOError(context + ": " + strerror(err));
}

// A MAP_SHARED mapping; unmapped (and its fd closed, if owned) on destruction.
class PosixSharedMemory final : public SharedMemory {
 public:
  PosixSharedMemory(char* data, uint64_t size, int owned_fd)
      : data_(data), size_(size), fd_(owned_fd) {}
  ~PosixSharedMemory() override {
    if (data_ != nullptr) munmap(data_, size_);
    if (fd_ >= 0) close(fd_);
  }

  char* data() const override { return data_; }
  uint64_t size() const override { return size_; }
  int fd() const override { return fd_; }

 private:
  char* const data_;
  const uint64_t size_;
  const int fd_;
};

StatusOr<char*> MapFd(int fd, uint64_t size) {
  if (size == 0) return static_cast<char*>(nullptr);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return PosixError("mmap of " + std::to_string(size) + " bytes", errno);
  return static_cast<char*>(p);
}

Status MakeDirs(const std::string& path) {
  if (path.empty()) return Status::OK();
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::OK() : Status::IOError(path + ": not a directory");
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    Status s = MakeDirs(path.substr(0, slash));
    if (!s.ok()) return s;
  }
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return PosixError(path, errno);
  return Status::OK();
}

class PosixEnv final : public Env {
 public:
  StatusOr<std::unique_ptr<SharedMemory>> NewSharedMemory(uint64_t size) override {
    // No name in the file system: the memory lives exactly as long as some
    // process holds the fd or a mapping.
    int fd = memfd_create("ember-object-store", MFD_CLOEXEC);
    if (fd < 0) return PosixError("memfd_create", errno);
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      Status s = PosixError("ftruncate memfd to " + std::to_string(size), errno);
      close(fd);
      return s;
    }
    StatusOr<char*> data = MapFd(fd, size);
    if (!data.ok()) {
      close(fd);
      return data.status();
    }
    // First-touch page faults dominate large puts; where the kernel allows
    // huge pages for shared memory, ask for them. Purely advisory.
    if (*data != nullptr) madvise(*data, size, MADV_HUGEPAGE);
    return std::unique_ptr<SharedMemory>(new PosixSharedMemory(*data, size, fd));
  }

  StatusOr<std::unique_ptr<SharedMemory>> MapSharedMemory(int fd, uint64_t size) override {
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return Status::InvalidArgument("bad file descriptor");
    // Touching a mapping past the end of its file raises SIGBUS; refuse it.
    if (static_cast<uint64_t>(st.st_size) < size) {
      return Status::InvalidArgument("cannot map " + std::to_string(size) + " bytes of a " +
                                     std::to_string(st.st_size) + "-byte shared memory");
    }
    StatusOr<char*> data = MapFd(fd, size);
    if (!data.ok()) return data.status();
    return std::unique_ptr<SharedMemory>(new PosixSharedMemory(*data, size, -1));
  }

  Status WriteFile(const std::string& path, const char* data, uint64_t n) override {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return PosixError(path, errno);
    while (n > 0) {
      ssize_t done = write(fd, data, n);
      if (done < 0 && errno == EINTR) continue;
      if (done < 0) {
        Status s = PosixError(path, errno);
        close(fd);
        unlink(path.c_str());
        return s;
      }
      data += done;
      n -= static_cast<uint64_t>(done);
    }
    if (close(fd) != 0) return PosixError(path, errno);
    return Status::OK();
  }

  Status ReadFile(const std::string& path, char* dst, uint64_t n) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    Status s;
    while (n > 0) {
      ssize_t done = read(fd, dst, n);
      if (done < 0 && errno == EINTR) continue;
      if (done <= 0) {
        s = done == 0 ? Status::IOError(path + ": file is shorter than expected")
                      : PosixError(path, errno);
        break;
      }
      dst += done;
      n -= static_cast<uint64_t>(done);
    }
    close(fd);
    return s;
  }

  Status RemoveFile(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return PosixError(path, errno);
    return Status::OK();
  }

  StatusOr<std::string> CreateUniqueDir(const std::string& parent,
                                        const std::string& prefix) override {
    Status s = MakeDirs(parent);
    if (!s.ok()) return s;
    std::string pattern = parent + "/" + prefix + "XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return PosixError(pattern, errno);
    return pattern;
  }

  Status RemoveDir(const std::string& path) override {
    if (rmdir(path.c_str()) != 0) return PosixError(path, errno);
    return Status::OK();
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv;  // never deleted: used until process exit
  return env;
}

}  // namespace ember
