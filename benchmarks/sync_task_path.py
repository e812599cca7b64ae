"""Where one synchronous task's time goes: `get(f.remote())` cut into four stages.

    uv run python benchmarks/sync_task_path.py [--tasks 5000] [--rounds 1]

Timestamps (CLOCK_MONOTONIC, shared by all processes) are taken in the driver when
`.remote()` is called, when the node hands the task to the worker's socket, and when the
driver starts reading the worker's reply, in the task itself when it runs, and when `get`
returns. The medians over the tasks are printed per stage, and their total. The hooks
wrap two internal methods of this process (the embedded node), so this measures ember
only; the hooks cost about a microsecond per stage.
"""

from __future__ import annotations

import argparse
import statistics
import time

import ember
from ember._core.node import driver_reads, pool  # noqa: TID251 - it times the node itself

STAGES = ("submit -> sent to the worker", "sent -> the task runs",
          "the task runs -> the driver reads the reply", "the driver reads -> get returns")


def measure(n: int) -> list[float]:
    """Median microseconds of each stage over `n` tasks, then of the whole."""
    now = time.perf_counter_ns
    marks: dict[str, int] = {}
    send, read = pool.WorkerHandle.send, driver_reads.DriverReads._read

    def timed_send(self: pool.WorkerHandle, msg: object) -> bool:
        marks.setdefault("sent", now())
        return send(self, msg)

    def timed_read(self: driver_reads.DriverReads, w: pool.WorkerHandle) -> bool:
        marks.setdefault("read", now())
        return read(self, w)

    pool.WorkerHandle.send = timed_send  # type: ignore[method-assign]
    driver_reads.DriverReads._read = timed_read  # type: ignore[method-assign]
    try:
        @ember.remote
        def stamp() -> int:
            return time.perf_counter_ns()

        for _ in range(300):
            ember.get(stamp.remote())
        rows = []
        for _ in range(n):
            marks.clear()
            t0 = now()
            ran = ember.get(stamp.remote())
            t1 = now()
            if "sent" in marks and "read" in marks:
                rows.append((marks["sent"] - t0, ran - marks["sent"], marks["read"] - ran,
                             t1 - marks["read"], t1 - t0))
    finally:
        pool.WorkerHandle.send = send  # type: ignore[method-assign]
        driver_reads.DriverReads._read = read  # type: ignore[method-assign]
    return [statistics.median(r[i] for r in rows) / 1000 for i in range(len(STAGES) + 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    ember.init(num_cpus=1)
    try:
        for _ in range(args.rounds):
            medians = measure(args.tasks)
            for name, us in zip((*STAGES, "total"), medians, strict=True):
                print(f"{name:46s} {us:7.1f} µs")
            print()
    finally:
        ember.shutdown()


if __name__ == "__main__":
    main()
