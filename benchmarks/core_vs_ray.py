"""ember vs Ray on one machine, in one invocation, with identical benchmark code.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/core_vs_ray.py \
        --out docs/core_vs_ray.md

Every row of `ember microbenchmark` (Ray's row names) runs under ember (this Python) and
under Ray (the Python given by --ray-python or $RAY_PYTHON), each in a fresh subprocess
that loads packages/core/src/ember/_microbenchmark.py by path, so both runtimes run the
same file. Rows are run in groups; the runtime that goes first alternates from group to
group to limit drift, and only one cluster is up at a time. Extra rows (benchmarks/_extras.py):

  (a) import + init() to the first task result, a fresh process each, median of 5;
  (b) RSS and PSS summed over the driver and all its descendants, idle, after init;
  (c) 1,000 trivial tasks through rt.util.multiprocessing.Pool.map vs the standard
      library's multiprocessing.Pool.map (same function, same chunksize);
  (d) put gigabytes as a share of a plain numpy copy of the same array;
  (e) the Python IPC floor: pickled request/response round trips per second between two
      processes over a Unix socket pair; the sync and async task and actor-call rows
      show their rate as a share of it.

Both clusters get num_cpus=2. The result is a markdown table on stdout (and --out), and
the raw numbers as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _runner import runtime_env

ROOT = Path(__file__).resolve().parent.parent
MB_PATH = ROOT / "packages" / "core" / "src" / "ember" / "_microbenchmark.py"
EXTRAS = ROOT / "benchmarks" / "_extras.py"

# Loads the microbenchmark file by path (the same file under both runtimes) and runs it.
LOADER = ("import importlib.util, sys; "
          "s = importlib.util.spec_from_file_location('ember_microbenchmark', sys.argv[1]); "
          "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); "
          "sys.exit(m.main(sys.argv[2:]))")

# Rows whose rate is compared with the IPC floor (sync: >= 50 %, async: >= 100 % wanted).
FLOOR_ROWS = ("single_client_tasks_sync", "single_client_tasks_async", "1_1_actor_calls_sync",
              "1_1_actor_calls_async")

GROUPS = [
    ["single_client_get_calls_Plasma_Store", "single_client_put_calls_Plasma_Store",
     "multi_client_put_calls_Plasma_Store", "single_client_put_gigabytes",
     "single_client_tasks_and_get_batch", "multi_client_put_gigabytes"],
    ["single_client_get_object_containing_10k_refs", "single_client_wait_1k_refs",
     "single_client_tasks_sync", "single_client_tasks_async", "multi_client_tasks_async"],
    ["1_1_actor_calls_sync", "1_1_actor_calls_async", "1_1_actor_calls_concurrent",
     "1_n_actor_calls_async", "n_n_actor_calls_async", "n_n_actor_calls_with_arg_async"],
    ["1_1_async_actor_calls_sync", "1_1_async_actor_calls_async",
     "1_1_async_actor_calls_with_args_async", "1_n_async_actor_calls_async",
     "n_n_async_actor_calls_async", "placement_group_create/removal"],
]

LABEL = {"ember": "ember", "ray": "Ray 2.60"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill a subprocess we started and every process below it, each by its pid."""
    for pid in [proc.pid, *_descendants(proc.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    proc.wait()


class Runner:
    def __init__(self, pythons: dict[str, str], log_dir: Path) -> None:
        self.pythons = pythons
        self.log_dir = log_dir
        self.n = 0
        env = runtime_env()
        env.pop("PYTHONPATH", None)
        self.env = env

    def stream(self, runtime: str, tag: str, args: list[str], on_line, first_timeout: float,
               line_timeout: float) -> tuple[int | None, str]:
        """Run a subprocess, calling on_line(line) for each stdout line. It is killed when
        no line came for `line_timeout` s (`first_timeout` for the first). Returns
        (exit status or None when killed, path of its stderr log)."""
        self.n += 1
        err_path = self.log_dir / f"{self.n:03d}-{runtime}-{tag}.log"
        with open(err_path, "w") as err:
            proc = subprocess.Popen([self.pythons[runtime], *args], stdout=subprocess.PIPE,
                                    stderr=err, text=True, cwd=ROOT, env=self.env,
                                    start_new_session=True)
            lines: queue.Queue = queue.Queue()

            def pump() -> None:
                for line in proc.stdout:
                    lines.put(line.rstrip("\n"))
                lines.put(None)

            threading.Thread(target=pump, daemon=True).start()
            timeout, first = first_timeout, True
            while True:
                try:
                    line = lines.get(timeout=timeout)
                except queue.Empty:
                    log(f"{runtime}: no output for {timeout:.0f} s; killing it ({err_path})")
                    _kill_tree(proc)
                    return None, str(err_path)
                if line is None:
                    break
                if first:
                    timeout, first = line_timeout, False
                on_line(line)
            rc = proc.wait()
            # no orphan of the run may stay behind to disturb the next one
            for pid in _descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            return rc, str(err_path)

    def extra(self, runtime: str, args: list[str], timeout: float = 180) -> dict:
        out: dict = {}

        def on_line(line: str) -> None:
            if line.startswith("RESULT "):
                out.update(json.loads(line[len("RESULT "):]))

        rc, err = self.stream(runtime, args[0], [str(EXTRAS), *args, "--runtime",
                                        "stdlib" if runtime == "stdlib-ember" else runtime],
                              on_line, timeout, timeout)
        if not out:
            out["error"] = f"exit status {rc}; see {err}: {_tail(err)}"
        return out


def _tail(path: str, n: int = 3) -> str:
    try:
        lines = [x for x in Path(path).read_text().splitlines() if x.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-400:]


def run_rows(runner: Runner, runtime: str, rows: list[str], duration: float,
             results: dict) -> None:
    """Run `rows` under `runtime` in one subprocess; if it dies or hangs, blame the row in
    progress and go on with the rest in a fresh one."""
    todo = list(rows)
    fruitless = 0
    while todo:
        def on_line(line: str) -> None:
            parts = line.split()
            if len(parts) >= 6 and parts[1:3] == ["per", "second"] and parts[0] in todo:
                results[parts[0]] = {"mean": float(parts[3]), "std": float(parts[5])}
                todo.remove(parts[0])
                log(f"{LABEL[runtime]:>8}: {line}")
            elif len(parts) >= 2 and parts[1] == "ERROR" and parts[0] in todo:
                results[parts[0]] = {"error": " ".join(parts[2:])}
                todo.remove(parts[0])
                log(f"{LABEL[runtime]:>8}: {line}")

        before = len(todo)
        args = ["-c", LOADER, str(MB_PATH), "--runtime", runtime, "--rows", ",".join(todo),
                "--duration", str(duration), "--num-cpus", "2"]
        rc, err = runner.stream(runtime, "microbenchmark", args, on_line,
                                first_timeout=120 + 10 * duration,
                                line_timeout=60 + 10 * duration)
        if not todo:
            return
        fruitless = fruitless + 1 if len(todo) == before else 0
        if fruitless >= 3:
            # three times no row at all (e.g. init fails): record it for every row left
            for r in todo:
                results[r] = {"error": f"exit status {rc}: {_tail(err)}"}
            return
        if todo:
            results[todo[0]] = {"error": f"hung or crashed (see {err}): {_tail(err, 2)}"}
            log(f"{LABEL[runtime]:>8}: {todo[0]} {results[todo[0]]['error']}")
            todo.pop(0)


def _decimals(v: float) -> int:
    return 0 if v >= 100 else 1 if v >= 10 else 2 if v >= 1 else 3


def fmt(v: float, decimals: int | None = None) -> str:
    return f"{v:,.{_decimals(v) if decimals is None else decimals}f}"


def cell(r: dict | None) -> str:
    if not r:
        return "n/a"
    if "error" in r:
        return "error"
    if "std" in r:
        d = _decimals(r["mean"])
        return f"{fmt(r['mean'], d)} ± {fmt(r['std'], d)}"
    return fmt(r["mean"])


def ratio(e: dict | None, r: dict | None) -> str:
    if not e or not r or "mean" not in e or "mean" not in r or not r["mean"]:
        return "—"
    return f"{e['mean'] / r['mean']:.2f}×"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"),
                   help="Python with Ray installed (default: $RAY_PYTHON)")
    p.add_argument("--ember-python", default=sys.executable)
    p.add_argument("--duration", type=float, default=1.5, help="seconds per row")
    p.add_argument("--first-result-runs", type=int, default=5)
    p.add_argument("--idle-wait", type=float, default=5.0,
                   help="seconds after init before measuring idle memory")
    p.add_argument("--filter", default="", help="only microbenchmark rows containing this")
    p.add_argument("--skip-extras", action="store_true")
    p.add_argument("--out", default=None, help="also write the markdown table here")
    p.add_argument("--json", default=None, help="also write the raw results here")
    p.add_argument("--log-dir", default=None, help="stderr of every run (default: a temp dir)")
    a = p.parse_args(argv)

    runtimes = ["ember"]
    pythons = {"ember": a.ember_python, "stdlib-ember": a.ember_python}
    if a.ray_python:
        runtimes.append("ray")
        pythons["ray"] = a.ray_python
    else:
        log("no --ray-python / $RAY_PYTHON: measuring ember only")
    log_dir = Path(a.log_dir or tempfile.mkdtemp(prefix="core_vs_ray-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log(f"logs of every run: {log_dir}")
    runner = Runner(pythons, log_dir)
    t_start = time.perf_counter()
    res: dict = {rt: {} for rt in runtimes}
    extras: dict = {rt: {} for rt in runtimes}
    extras["stdlib"] = {}
    extras["numpy"] = {}

    def order(i: int) -> list[str]:
        return runtimes if i % 2 == 0 else runtimes[::-1]

    # microbenchmark rows, group by group, alternating which runtime goes first
    terms = [t for t in a.filter.split(",") if t]
    groups = [[r for r in g if not terms or any(t in r for t in terms)] for g in GROUPS]
    for i, group in enumerate(g for g in groups if g):
        for rt in order(i):
            log(f"group {i + 1}: {LABEL[rt]}: {', '.join(group)}")
            run_rows(runner, rt, group, a.duration, res[rt])

    # (e) the IPC floor, on the same machine in the same run
    log("IPC floor: socketpair + pickle round trips")
    extras["floor"] = runner.extra("stdlib-ember", ["ipc-floor", "--duration",
                                                    str(a.duration)])
    if "mean" in extras["floor"]:
        log(f"   floor: {extras['floor']['mean']:,.0f} round trips/s")

    if not a.skip_extras:
        # (d) plain numpy copy of the put-gigabytes array, with the same timeit
        log("numpy copy reference")
        extras["numpy"] = runner.extra("stdlib-ember", ["numpy-copy", "--microbenchmark",
                                                        str(MB_PATH), "--duration",
                                                        str(a.duration)])
        # (a) import + init to the first result: fresh processes, alternating
        runs: dict[str, list[float]] = {rt: [] for rt in runtimes}
        for i in range(a.first_result_runs):
            for rt in order(i):
                r = runner.extra(rt, ["first-result", "--num-cpus", "2"])
                if "seconds" in r:
                    runs[rt].append(r["seconds"])
                    log(f"{LABEL[rt]:>8}: import+init to first result {r['seconds']:.3f} s")
                else:
                    log(f"{LABEL[rt]:>8}: first-result failed: {r.get('error')}")
        for rt in runtimes:
            if runs[rt]:
                extras[rt]["first_result"] = {"mean": statistics.median(runs[rt]),
                                              "runs": runs[rt]}
        # (b) idle memory of the whole one-node cluster
        for rt in runtimes:
            r = runner.extra(rt, ["idle-memory", "--num-cpus", "2", "--wait", str(a.idle_wait)])
            extras[rt]["idle_memory"] = r
            if "rss_mib" in r:
                log(f"{LABEL[rt]:>8}: idle RSS {r['rss_mib']:.0f} MiB, PSS "
                    f"{r['pss_mib']:.0f} MiB, {r['processes']} processes")
        # (c) Pool.map of 1,000 trivial tasks, with the standard library's default chunking
        # for 2 processes (ceil(1000 / (4 * 2)) = 125) and with chunksize=1
        for j, chunk in enumerate((125, 1)):
            for rt in [*order(j), "stdlib-ember"]:
                r = runner.extra(rt, ["pool", "--num-cpus", "2", "--processes", "2",
                                      "--n", "1000", "--chunksize", str(chunk)])
                key = "stdlib" if rt == "stdlib-ember" else rt
                extras[key][f"pool_{chunk}"] = r
                if "items_per_s" in r:
                    log(f"{LABEL.get(key, key):>8}: Pool.map 1000 (chunksize {chunk}): "
                        f"{r['items_per_s']:,.0f} tasks/s")
                else:
                    log(f"{LABEL.get(key, key):>8}: Pool.map failed: {r.get('error')}")

    table = render(res, extras, runtimes)
    total = time.perf_counter() - t_start
    print(table)
    log(f"done in {total / 60:.1f} min")
    if a.out:
        Path(a.out).write_text(table + "\n")
    if a.json:
        Path(a.json).write_text(json.dumps({"microbenchmark": res, "extras": extras,
                                            "duration_per_row_s": a.duration,
                                            "total_s": total}, indent=1))
    return 0


def render(res: dict, extras: dict, runtimes: list[str]) -> str:
    e, r = res.get("ember", {}), res.get("ray", {})
    lines = ["| row | ember | Ray 2.60 | ember/Ray | reference |",
             "| --- | ---: | ---: | ---: | --- |"]
    numpy = extras.get("numpy", {})
    rows = [x for g in GROUPS for x in g if x in e or x in r]
    floor = extras.get("floor", {}).get("mean")
    if floor:
        lines.append(f"| IPC floor: socketpair + pickle round trips (per s) | "
                     f"{fmt(floor)} | | | the same machine, the same run |")
    for name in rows:
        ref = ""
        if floor and name in FLOOR_ROWS and "mean" in e.get(name, {}):
            ref = f"{100 * e[name]['mean'] / floor:.0f} % of the IPC floor"
        if name == "single_client_put_gigabytes" and "copy_fresh" in numpy:
            fresh, warm = numpy["copy_fresh"]["mean"], numpy["copyto_preallocated"]["mean"]
            parts = []
            for rt in runtimes:
                v = res[rt].get(name, {}).get("mean")
                if v:
                    parts.append(f"{LABEL[rt]} {100 * v / fresh:.0f} % / {100 * v / warm:.0f} %")
            ref = (f"numpy arr.copy() {fresh:.2f} GB/s, np.copyto into a preallocated array "
                   f"{warm:.2f} GB/s; put as % of these: " + ", ".join(parts))
        lines.append(f"| {name} (per s) | {cell(e.get(name))} | {cell(r.get(name))} | "
                     f"{ratio(e.get(name), r.get(name))} | {ref} |")
    ee, er = extras.get("ember", {}), extras.get("ray", {})
    if ee or er:
        fr_e, fr_r = ee.get("first_result"), er.get("first_result")
        lines.append(f"| import + init to first result (s, median of "
                     f"{len((fr_e or fr_r or {}).get('runs', []))}; lower is better) | "
                     f"{cell(fr_e)} | {cell(fr_r)} | {ratio(fr_e, fr_r)} | |")
        for key, what in (("rss_mib", "RSS"), ("pss_mib", "PSS")):
            me = ee.get("idle_memory", {})
            mr = er.get("idle_memory", {})
            ve = {"mean": me[key]} if key in me else None
            vr = {"mean": mr[key]} if key in mr else None
            procs = ", ".join(f"{LABEL[rt]} {extras[rt]['idle_memory']['processes']}"
                              for rt in runtimes
                              if "processes" in extras[rt].get("idle_memory", {}))
            lines.append(f"| idle cluster {what}, all processes (MiB; lower is better) | "
                         f"{cell(ve)} | {cell(vr)} | {ratio(ve, vr)} | processes: {procs} |")
        st = extras.get("stdlib", {})
        for chunk in (125, 1):
            pe, pr, ps = (ee.get(f"pool_{chunk}", {}), er.get(f"pool_{chunk}", {}),
                          st.get(f"pool_{chunk}", {}))
            ve = {"mean": pe["items_per_s"]} if "items_per_s" in pe else None
            vr = {"mean": pr["items_per_s"]} if "items_per_s" in pr else None
            ref = ""
            if "items_per_s" in ps:
                ref = f"stdlib multiprocessing.Pool {ps['items_per_s']:,.0f}/s"
                for rt, v in (("ember", ve), ("ray", vr)):
                    if v and rt in runtimes:
                        ref += f"; {LABEL[rt]} {ps['items_per_s'] / v['mean']:.1f}× slower"
            lines.append(f"| Pool.map, 1,000 trivial tasks, chunksize {chunk} (tasks per s) | "
                         f"{cell(ve)} | {cell(vr)} | {ratio(ve, vr)} | {ref} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
