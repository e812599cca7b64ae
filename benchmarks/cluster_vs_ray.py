"""Two nodes on one machine: ember vs Ray with identical scenario code.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/cluster_vs_ray.py

Each runtime starts a head node (1 CPU) and a worker node (1 CPU and a custom resource
"far") as separate processes with its own cluster_utils.Cluster, attaches a driver to the
head, and measures:

  cross_node_get_1GiB     a task on the worker node makes a 1 GiB array; time from submit
                          to the value in the driver (GB/s, end to end, best of 3); the
                          transfer's baseline is a plain TCP socket copy of 1 GiB between
                          two local processes
  same_node_get_1GiB      the same task on the head node: the cost without any transfer
  cross_node_arg_1GiB     a 1 GiB array put by the driver, passed to a task on the worker
                          node that returns its size (GB/s, submit to result, best of 3)
  spillback_tasks         1,000 trivial tasks that only the worker node can run, submitted
                          by the driver on the head (tasks/s)
  cross_node_actor_calls  1,000 calls to an actor on the worker node, 100 in flight (calls/s)
  placement_group_cross_node
                          a STRICT_SPREAD group of two bundles (one per node) created,
                          waited for and removed, 50 times in a row (groups/s)
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

from _runner import emit, run_scenario

SCENARIO = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    name = sys.argv[1]
    rt = __import__(name)
    from importlib import import_module
    Cluster = import_module(name + ".cluster_utils").Cluster
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1, resources={"far": 1000})
    cluster.wait_for_nodes()
    rt.init(address=cluster.address)
    out = {}
    N = 1 << 30

    @rt.remote(resources={"far": 1})
    def far_make():
        return np.ones(N // 8)

    @rt.remote
    def near_make():
        return np.ones(N // 8)

    @rt.remote(resources={"far": 0.001})
    def far_noop():
        return 1

    @rt.remote(resources={"far": 1})
    class FarActor:
        def ping(self):
            return 1

    rt.get(far_noop.remote())
    a = rt.get(near_make.remote()); del a
    near, far = [], []
    for _ in range(3):
        t0 = time.perf_counter(); a = rt.get(near_make.remote())
        near.append(time.perf_counter() - t0)
        assert a.nbytes == N; del a
        t0 = time.perf_counter(); a = rt.get(far_make.remote())
        far.append(time.perf_counter() - t0)
        assert a.nbytes == N and float(a[-1]) == 1.0; del a
    out["cross_node_get_1GiB"] = N / min(far) / 1e9
    out["same_node_get_1GiB"] = N / min(near) / 1e9

    @rt.remote(resources={"far": 1})
    def far_size(a):
        return a.nbytes

    times = []
    for _ in range(3):
        ref = rt.put(np.ones(N // 8))  # a new object each time: nothing cached there
        t0 = time.perf_counter()
        assert rt.get(far_size.remote(ref)) == N
        times.append(time.perf_counter() - t0)
        del ref
    out["cross_node_arg_1GiB"] = N / min(times) / 1e9

    rt.get([far_noop.remote() for _ in range(50)])
    t0 = time.perf_counter()
    rt.get([far_noop.remote() for _ in range(1000)])
    out["spillback_tasks"] = 1000 / (time.perf_counter() - t0)

    actor = FarActor.remote()
    rt.get(actor.ping.remote())
    t0 = time.perf_counter()
    for _ in range(10):
        rt.get([actor.ping.remote() for _ in range(100)])
    out["cross_node_actor_calls"] = 1000 / (time.perf_counter() - t0)

    rt.kill(actor)
    while rt.available_resources().get("CPU", 0) < 2:  # the actor's resources come back
        time.sleep(0.05)
    pgs = import_module(name + ".util")
    bundles = [{"CPU": 0.5}, {"CPU": 0.5}]
    for i in range(51):
        if i == 1:
            t0 = time.perf_counter()
        pg = pgs.placement_group(bundles, strategy="STRICT_SPREAD")
        assert pg.wait(60), (i, rt.available_resources())
        pgs.remove_placement_group(pg)
    out["placement_group_cross_node"] = 50 / (time.perf_counter() - t0)
    print("RESULT " + json.dumps(out), flush=True)
    rt.shutdown()
    cluster.shutdown()
''')


def socket_copy_gbps(nbytes: int = 1 << 30) -> float:
    """Send `nbytes` over a loopback TCP socket between two processes."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    code = ("import socket, sys\n"
            f"s = socket.create_connection(('127.0.0.1', {port}))\n"
            f"buf = bytearray({nbytes}); mv = memoryview(buf); got = 0\n"
            f"while got < {nbytes}:\n"
            "    n = s.recv_into(mv[got:])\n"
            "    got += n\n"
            "s.sendall(b'k')\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    conn, _ = srv.accept()
    data = bytearray(nbytes)
    t0 = time.perf_counter()
    conn.sendall(data)
    conn.recv(1)
    dt = time.perf_counter() - t0
    proc.wait()
    conn.close()
    srv.close()
    return nbytes / dt / 1e9


def run(python: str, runtime: str) -> dict:
    return run_scenario(python, ["-c", SCENARIO, runtime], runtime, timeout=900)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--out", default=None)
    args = p.parse_args()
    results = {"ember": run(sys.executable, "ember")}
    if args.ray_python:
        results["ray"] = run(args.ray_python, "ray")
    socket_rate = socket_copy_gbps()
    rows = [("cross_node_get_1GiB", "GB/s"), ("same_node_get_1GiB", "GB/s"),
            ("cross_node_arg_1GiB", "GB/s"),
            ("spillback_tasks", "tasks/s"),
            ("cross_node_actor_calls", "calls/s"),
            ("placement_group_cross_node", "groups/s")]
    lines = ["| row | unit | ember | Ray 2.60 | ember/Ray |", "|---|---|---|---|---|"]
    for name, unit in rows:
        e = results["ember"][name]
        r = results.get("ray", {}).get(name)
        ratio = f"{e / r:.2f}x" if r else "n/a"
        lines.append(f"| {name} | {unit} | {e:,.2f} | {r:,.2f} | {ratio} |" if r else
                     f"| {name} | {unit} | {e:,.2f} | n/a | n/a |")
    lines.append(f"| plain TCP socket copy, 1 GiB (transfer baseline) | GB/s | "
                 f"{socket_rate:.2f} | | |")
    emit("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    threading.stack_size(0)
    sys.exit(main())
