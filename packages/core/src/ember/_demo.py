"""`ember demo`: tasks, actors and a 100 MB array through the object store, timed."""

from __future__ import annotations

import time


def run(num_cpus: int | None = None) -> int:
    t0 = time.perf_counter()
    import numpy as np

    import ember

    ember.init(num_cpus=num_cpus)
    t_init = time.perf_counter() - t0

    @ember.remote
    def square(x: int) -> int:
        return x * x

    t1 = time.perf_counter()
    first = ember.get(square.remote(7))
    t_first = time.perf_counter() - t0
    print(f"init: {t_init * 1000:.1f} ms; import+init to first result: {t_first * 1000:.1f} ms"
          f" (square(7) = {first})")

    t1 = time.perf_counter()
    squares = ember.get([square.remote(i) for i in range(1000)])
    dt = time.perf_counter() - t1
    print(f"1000 tasks: sum of squares = {sum(squares)} in {dt * 1000:.0f} ms "
          f"({1000 / dt:,.0f} tasks/s)")

    @ember.remote
    class Counter:
        def __init__(self) -> None:
            self.n = 0

        def add(self, k: int) -> int:
            self.n += k
            return self.n

    c = Counter.remote()
    t1 = time.perf_counter()
    for _ in range(500):
        total = ember.get(c.add.remote(1))
    dt = time.perf_counter() - t1
    print(f"actor: 500 sync calls -> counter = {total} in {dt * 1000:.0f} ms "
          f"({500 / dt:,.0f} calls/s)")

    @ember.remote
    def checksum(a: np.ndarray) -> float:
        return float(a.sum())

    arr = np.arange(100 * 1024 * 1024 // 8, dtype=np.float64)
    t1 = time.perf_counter()
    ref = ember.put(arr)
    t_put = time.perf_counter() - t1
    t1 = time.perf_counter()
    view = ember.get(ref)
    t_get = time.perf_counter() - t1
    t1 = time.perf_counter()
    remote_sum = ember.get(checksum.remote(ref))
    t_task = time.perf_counter() - t1
    print(f"100 MB array: put {t_put * 1000:.1f} ms ({arr.nbytes / t_put / 1e9:.2f} GB/s), "
          f"get {t_get * 1000:.2f} ms (zero-copy: {not view.flags.owndata}), "
          f"task reading it {t_task * 1000:.1f} ms; sums match: {remote_sum == float(arr.sum())}")
    del view, ref
    ember.shutdown()
    print("done: the cluster is shut down, no processes or shared memory left behind.")
    return 0
