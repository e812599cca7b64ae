"""Extra measurements for core_vs_ray.py, run as a script under either runtime's Python.

    python benchmarks/_extras.py first-result --runtime ember|ray [--num-cpus 2]
    python benchmarks/_extras.py idle-memory  --runtime ember|ray [--num-cpus 2] [--wait 5]
    python benchmarks/_extras.py pool         --runtime ember|ray|stdlib [--chunksize 125]
    python benchmarks/_extras.py numpy-copy   --microbenchmark PATH [--duration 2]
    python benchmarks/_extras.py ipc-floor    [--duration 2]

Like the microbenchmark module, this uses only the runtime module (`ember` or `ray`)
through the Ray-compatible public API, numpy and the standard library. Each mode prints
one line `RESULT <json>` on stdout.
"""

import time

_T0 = time.perf_counter()  # before any other import: the start of "import + init"

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402


def emit(result):
    print("RESULT " + json.dumps(result), flush=True)


def first_result(runtime, num_cpus):
    """Seconds from `import rt` to the first task's result (t0 is taken before importing)."""
    rt = importlib.import_module(runtime)
    rt.init(num_cpus=num_cpus)

    @rt.remote
    def one():
        return 1

    assert rt.get(one.remote()) == 1
    seconds = time.perf_counter() - _T0
    rt.shutdown()
    emit({"seconds": seconds})


def _children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after it
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid):
    """`pid` and every process below it, found through /proc by parent pid."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory_of(pid):
    """(rss_kib, pss_kib, name) of one process from /proc/<pid>/smaps_rollup."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    with open(f"/proc/{pid}/comm") as f:
        name = f.read().strip()
    return rss, pss, name


def idle_memory(runtime, num_cpus, wait):
    """RSS and PSS summed over the driver and all its descendants, `wait` s after init."""
    rt = importlib.import_module(runtime)
    rt.init(num_cpus=num_cpus)
    time.sleep(wait)
    procs = []
    for pid in descendants(os.getpid()):
        try:
            rss, pss, name = memory_of(pid)
        except OSError:  # exited meanwhile
            continue
        procs.append({"pid": pid, "name": name, "rss_kib": rss, "pss_kib": pss})
    rt.shutdown()
    emit({"rss_mib": sum(p["rss_kib"] for p in procs) / 1024,
          "pss_mib": sum(p["pss_kib"] for p in procs) / 1024,
          "processes": len(procs), "detail": procs})


def square(x):
    return x * x


def pool(runtime, num_cpus, processes, n, chunksize, repeats):
    """Items per second of Pool(processes).map(square, range(n), chunksize) (after a warm-up
    map on the same pool); the pool's start-up is not timed."""
    if runtime == "stdlib":
        import multiprocessing

        Pool = multiprocessing.Pool
    else:
        rt = importlib.import_module(runtime)
        rt.init(num_cpus=num_cpus)
        Pool = importlib.import_module(f"{runtime}.util.multiprocessing").Pool
    expected = [square(i) for i in range(n)]
    times = []
    with Pool(processes=processes) as p:
        assert p.map(square, range(n), chunksize=chunksize) == expected
        for _ in range(repeats):
            t = time.perf_counter()
            out = p.map(square, range(n), chunksize=chunksize)
            times.append(time.perf_counter() - t)
            assert out == expected
    if runtime != "stdlib":
        rt.shutdown()
    med = statistics.median(times)
    emit({"seconds_median": med, "items_per_s": n / med, "times": times})


def _load(path):
    spec = importlib.util.spec_from_file_location("ember_microbenchmark", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def numpy_copy(mb_path, duration):
    """GB/s of plain numpy copies of the array of single_client_put_gigabytes, timed with
    the microbenchmark's own timeit: arr.copy() (a fresh array every call) and np.copyto
    into one preallocated array."""
    import numpy as np

    mb = _load(mb_path)
    arr = np.zeros(mb.SIZES["put_large_elems"], dtype=np.int64)
    gb = arr.nbytes / 1e9
    fresh = mb.timeit("numpy_copy_fresh_gigabytes", lambda: arr.copy(), gb, duration)
    dst = np.empty_like(arr)
    warm = mb.timeit("numpy_copyto_preallocated_gigabytes",
                     lambda: np.copyto(dst, arr), gb, duration)
    emit({"copy_fresh": {"mean": fresh[0], "std": fresh[1]},
          "copyto_preallocated": {"mean": warm[0], "std": warm[1]}})


def ipc_floor(duration):
    """The Python IPC floor: request/response round trips per second between two
    processes over a Unix socket pair, each message a pickled tuple with a 4-byte length
    prefix (what any Python runtime must at least do for a call to another process)."""
    import pickle
    import socket
    import struct

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    head = struct.Struct("<I")

    def read(sock, n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def recv(sock):
        (n,) = head.unpack(read(sock, 4))
        return pickle.loads(read(sock, n))

    def send(sock, msg):
        data = pickle.dumps(msg, protocol=5)
        sock.sendall(head.pack(len(data)) + data)

    pid = os.fork()
    if pid == 0:  # the other process: answer every request until the socket closes
        a.close()
        try:
            while True:
                rid, _op, args = recv(b)
                send(b, ("reply", rid, True, args[0] + 1))
        except (OSError, EOFError):
            os._exit(0)
    b.close()
    rates = []
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < duration / 3:
            send(a, (n, "call", (n,)))
            recv(a)
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    a.close()
    os.waitpid(pid, 0)
    emit({"mean": statistics.mean(rates), "std": statistics.pstdev(rates)})


def main(argv=None):
    p = argparse.ArgumentParser(description="extra measurements for core_vs_ray.py")
    p.add_argument("mode", choices=["first-result", "idle-memory", "pool", "numpy-copy",
                                    "ipc-floor"])
    p.add_argument("--runtime", default="ember", choices=["ember", "ray", "stdlib"])
    p.add_argument("--num-cpus", type=int, default=2)
    p.add_argument("--wait", type=float, default=5.0)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--chunksize", type=int, default=125)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--microbenchmark", default=None)
    p.add_argument("--duration", type=float, default=2.0)
    a = p.parse_args(argv)
    if a.mode == "first-result":
        first_result(a.runtime, a.num_cpus)
    elif a.mode == "idle-memory":
        idle_memory(a.runtime, a.num_cpus, a.wait)
    elif a.mode == "pool":
        pool(a.runtime, a.num_cpus, a.processes, a.n, a.chunksize, a.repeats)
    elif a.mode == "ipc-floor":
        ipc_floor(a.duration)
    else:
        numpy_copy(a.microbenchmark, a.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
