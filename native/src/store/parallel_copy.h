// ParallelCopy is memcpy for large buffers: from kParallelCopyThreshold
// bytes up, it splits the copy over 2-4 threads. One core cannot saturate
// memory bandwidth, and the first write to each fresh page of shared memory
// takes a page fault, which several threads absorb in parallel; this is what
// makes putting gigabytes into the store fast.

#ifndef EMBER_STORE_PARALLEL_COPY_H_
#define EMBER_STORE_PARALLEL_COPY_H_

#include <cstdint>

namespace ember {

constexpr uint64_t kParallelCopyThreshold = uint64_t{8} << 20;

// Threads ParallelCopy uses for `n` bytes (1 below the threshold).
int ParallelCopyThreads(uint64_t n);

// Copies `n` bytes from `src` to `dst`; the ranges must not overlap.
// Thread-safe (each call uses its own threads).
void ParallelCopy(char* dst, const char* src, uint64_t n);

}  // namespace ember

#endif  // EMBER_STORE_PARALLEL_COPY_H_
