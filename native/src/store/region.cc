#include "ember/region.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "store/parallel_copy.h"

namespace ember {

Region::Region(std::shared_ptr<SharedMemory> memory)
    : size_(memory ? memory->size() : 0), memory_(std::move(memory)) {}

StatusOr<std::unique_ptr<Region>> Region::Map(Env* env, int fd, uint64_t size) {
  StatusOr<std::unique_ptr<SharedMemory>> memory = env->MapSharedMemory(fd, size);
  if (!memory.ok()) return memory.status();
  return std::make_unique<Region>(std::shared_ptr<SharedMemory>(std::move(memory).value()));
}

bool Region::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return memory_ == nullptr;
}

Status Region::CheckBounds(uint64_t offset, uint64_t n) const {
  // Written so that offset + n cannot overflow.
  if (offset > size_ || n > size_ - offset) {
    return Status::InvalidArgument("range [" + std::to_string(offset) + ", +" + std::to_string(n) +
                                   ") is outside the " + std::to_string(size_) + "-byte region");
  }
  return Status::OK();
}

StatusOr<RegionSlice> Region::Slice(uint64_t offset, uint64_t n) const {
  Status s = CheckBounds(offset, n);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (memory_ == nullptr) return Status::InvalidArgument("region is closed");
  RegionSlice slice;
  slice.memory = memory_;
  slice.data = memory_->data() == nullptr ? nullptr : memory_->data() + offset;
  slice.size = n;
  return slice;
}

Status Region::ReadFrom(int fd, uint64_t offset, uint64_t n) {
  StatusOr<RegionSlice> slice = Slice(offset, n);
  if (!slice.ok()) return slice.status();
  uint64_t done = 0;
  while (done < n) {
    ssize_t got = ::read(fd, slice->data + done, n - done);
    if (got > 0) {
      done += static_cast<uint64_t>(got);
    } else if (got == 0) {
      return Status::IOError("the peer closed the stream after " + std::to_string(done) +
                             " of " + std::to_string(n) + " bytes");
    } else if (errno != EINTR) {
      return Status::IOError(std::string("read failed: ") + strerror(errno));
    }
  }
  return Status::OK();
}

Status Region::Write(uint64_t offset, const void* src, uint64_t n) {
  // The slice keeps the mapping alive, so the copy runs outside the lock and
  // a concurrent Close cannot unmap the bytes under it.
  StatusOr<RegionSlice> slice = Slice(offset, n);
  if (!slice.ok()) return slice.status();
  ParallelCopy(slice->data, static_cast<const char*>(src), n);
  return Status::OK();
}

void Region::Close() {
  std::shared_ptr<SharedMemory> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped = std::move(memory_);
    memory_ = nullptr;
  }
  // `dropped` may unmap here, outside the lock.
}

}  // namespace ember
