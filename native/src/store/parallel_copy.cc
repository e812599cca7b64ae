#include "store/parallel_copy.h"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

namespace ember {

int ParallelCopyThreads(uint64_t n) {
  if (n < kParallelCopyThreshold) return 1;
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 2, 4);
}

void ParallelCopy(char* dst, const char* src, uint64_t n) {
  int threads = ParallelCopyThreads(n);
  if (threads == 1) {
    if (n > 0) std::memcpy(dst, src, n);
    return;
  }
  // Chunks are whole pages so that no two threads fault on the same page.
  constexpr uint64_t kPage = 4096;
  uint64_t per_thread = (n + threads - 1) / threads;  // rounded up: chunks cover n
  uint64_t chunk = (per_thread + kPage - 1) / kPage * kPage;
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) {
    uint64_t begin = chunk * i;
    if (begin >= n) break;
    uint64_t len = std::min(chunk, n - begin);
    try {
      workers.emplace_back([=] { std::memcpy(dst + begin, src + begin, len); });
    } catch (const std::system_error&) {
      std::memcpy(dst + begin, src + begin, len);  // no thread to be had: copy it here
    }
  }
  std::memcpy(dst, src, std::min(chunk, n));  // the first chunk on this thread
  for (std::thread& t : workers) t.join();
}

}  // namespace ember
