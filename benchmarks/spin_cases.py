"""Where the runtime's spin before sleeping could cost more than it saves.

    uv run python benchmarks/spin_cases.py                  # spinning (the default)
    EMBER_SPIN_US=0 uv run python benchmarks/spin_cases.py  # never spinning

Each case is timed once, in ms (lower is better): tasks that take longer than a spin (so
every spin runs out), and more workers and actors than cores (so spinners compete with
the processes doing the work). Run both ways, alternating, and compare; add a busy loop
on one core (`timeout 300 yes > /dev/null &`) for the loaded variant.
"""

from __future__ import annotations

import time

import ember


def main() -> None:
    ember.init(num_cpus=8)

    @ember.remote(num_cpus=4)
    def busy(ms: float) -> int:
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            pass
        return 1

    @ember.remote
    def f(x: int) -> int:
        return x

    @ember.remote
    class A:
        def m(self, x: int) -> int:
            return x

    def timed(fn: object) -> str:
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        return f"{(time.perf_counter() - t) * 1e3:.0f}"

    ember.get([busy.remote(0) for _ in range(50)] + [f.remote(i) for i in range(2000)])
    actors = [A.remote() for _ in range(8)]
    ember.get([a.m.remote(0) for a in actors])
    rows = {
        "1,000 tasks of 1 ms on 2 workers, one get":
            lambda: ember.get([busy.remote(1) for _ in range(1000)]),
        "300 sequential gets of 1 ms tasks":
            lambda: [ember.get(busy.remote(1)) for _ in range(300)],
        "200 gets of two 0.3 ms tasks":
            lambda: [ember.get([busy.remote(0.3), busy.remote(0.3)]) for _ in range(200)],
        "10,000 trivial tasks on 8 workers, one get":
            lambda: ember.get([f.remote(i) for i in range(10000)]),
        "10,000 calls spread over 8 actors, one get":
            lambda: ember.get([actors[i % 8].m.remote(i) for i in range(10000)]),
    }
    for name, fn in rows.items():
        print(f"{name}: {timed(fn)} ms", flush=True)
    ember.shutdown()


if __name__ == "__main__":
    main()
