"""What a reader blocked in recv() costs its peer: the check behind the worker's poll().

    python benchmarks/recv_wakeup.py [--round-trips 20000]

A parent and a forked child ping-pong 90-byte messages over a Unix socket pair. The child
waits for each message either in recv() or in poll() and then recv(); the parent waits in
poll() and then reads with recv(), as ember's driver does. Printed: the median round trip
and the median of the parent's recv() alone. When the child waits in recv(), the parent's
read of the child's reply frees send room on the child's socket and wakes the child
(every waiter on a socket is woken by that); poll() waits for input only.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import time


def run(child_polls: bool, n: int) -> tuple[float, float]:
    """Median µs of (round trip, the parent's recv) with the child waiting as chosen."""
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the child: echo until the parent closes
        a.close()
        p = select.poll()
        p.register(b, select.POLLIN)
        while True:
            if child_polls:
                p.poll()
            data = b.recv(100)
            if not data:
                os._exit(0)
            b.send(data)
    b.close()
    buf = bytearray(1 << 16)
    p = select.poll()
    p.register(a, select.POLLIN)
    trips, reads = [], []
    now = time.perf_counter_ns
    for _ in range(n):
        t0 = now()
        a.send(b"x" * 90)
        p.poll()
        t1 = now()
        a.recv_into(buf)
        t2 = now()
        trips.append(t2 - t0)
        reads.append(t2 - t1)
    a.close()
    os.waitpid(pid, 0)
    return statistics.median(trips) / 1000, statistics.median(reads) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--round-trips", type=int, default=20000)
    args = ap.parse_args()
    for child_polls in (False, True, False, True):
        trip, read = run(child_polls, args.round_trips)
        how = "poll() then recv()" if child_polls else "recv()"
        print(f"child waits in {how:20s} round trip {trip:6.1f} µs   parent's recv {read:5.1f} µs")


if __name__ == "__main__":
    main()
