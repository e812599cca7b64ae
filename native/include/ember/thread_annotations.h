// Clang thread-safety annotations. Under other compilers they expand to
// nothing, so they document which mutex guards a field without costing
// anything; under clang -Wthread-safety they are checked.

#ifndef EMBER_THREAD_ANNOTATIONS_H_
#define EMBER_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define EMBER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define EMBER_THREAD_ANNOTATION(x)
#endif

#ifndef GUARDED_BY
#define GUARDED_BY(x) EMBER_THREAD_ANNOTATION(guarded_by(x))
#endif

#ifndef EXCLUSIVE_LOCKS_REQUIRED
#define EXCLUSIVE_LOCKS_REQUIRED(...) EMBER_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#endif

#endif  // EMBER_THREAD_ANNOTATIONS_H_
