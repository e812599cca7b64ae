"""Dashboard API latency with many finished tasks, and the memory holding them costs.

    RAY_PYTHON=/path/to/ray-venv/bin/python \\
        uv run python benchmarks/dashboard_api.py [--tasks 1000000] [--ray-tasks 100000] \\
        [--jobs 1000]

Each runtime starts a one-node cluster with 2 CPUs and its dashboard, runs that many tiny
tasks, then times each list endpoint of the dashboard: p50 and p95 over `--requests`
calls on one keep-alive connection, token sent where the runtime needs one. It also
reports what holding the finished tasks costs in memory (numpy is imported first in both):
- ember: RSS growth of the driver, which hosts the node manager and its task history
  in an embedded cluster;
- Ray: RSS growth of its GCS, which keeps the task events (at most 100,000 by default).

Then, on a head started with `ember start --head`, `--jobs` jobs are submitted and the
jobs list is timed (ember only: each Ray job starts a supervisor actor, too slow to make
a thousand here). Without RAY_PYTHON only ember is measured. The same child code runs under each Python and
uses only the runtime and the standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

from _runner import runtime_env

CHILD = textwrap.dedent('''
    import http.client, json, os, statistics, sys, time, urllib.parse
    name, n_tasks, n_requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rt = __import__(name)

    def rss_mib(pid):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def find(comm):
        """Our child process named `comm` (not another cluster's on the machine)."""
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{p}/stat") as f:
                        stat = f.read()
                except OSError:
                    continue
                name = stat[stat.index("(") + 1:stat.rindex(")")]
                if name == comm and int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                    return int(p)
        raise RuntimeError(f"no child process {comm}")

    import numpy  # both runtimes use it; its import is not part of holding tasks

    if name == "ember":
        info = rt.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
        url = info["dashboard_url"]
        with open(os.path.join(info["session_dir"], "token")) as f:
            headers = {"Authorization": "Bearer " + f.read()}
        holder = os.getpid()
    else:
        ctx = rt.init(num_cpus=2, include_dashboard=True)
        url = "http://" + ctx.dashboard_url
        headers = {"Authorization": "Bearer " + os.environ["RAY_AUTH_TOKEN"]}
        holder = find("gcs_server")
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=300)

    def get(path, params):
        q = urllib.parse.urlencode(params, doseq=True)
        try:
            conn.request("GET", path + ("?" + q if q else ""), headers=headers)
            r = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            conn.close()  # the server closed an idle keep-alive connection: reconnect
            conn.request("GET", path + ("?" + q if q else ""), headers=headers)
            r = conn.getresponse()
        body = r.read()
        assert r.status == 200, (path, r.status, body[:300])
        return body

    for _ in range(600):  # Ray's dashboard answers a little after init returns
        try:
            get("/api/v0/nodes", {})
            break
        except Exception:
            conn.close()
            time.sleep(0.1)
    before = rss_mib(holder)

    @rt.remote
    def noop(i):
        return i

    start = time.perf_counter()
    done = 0
    while done < n_tasks:
        k = min(20000, n_tasks - done)
        rt.get([noop.remote(i) for i in range(k)])
        done += k
    task_s = time.perf_counter() - start
    time.sleep(3)  # Ray reports task events to its GCS every second
    first = json.loads(get("/api/v0/tasks", {"limit": 1, "detail": 1}))["data"]["result"]
    total = first["total"]
    some_id = first["result"][0]["task_id"]
    after = rss_mib(holder)
    f = lambda k, v: {"filter_keys": k, "filter_predicates": "=", "filter_values": v}
    cases = [
        ("tasks, first page (limit 100)", "/api/v0/tasks", {"limit": 100}),
        ("tasks, name = noop", "/api/v0/tasks", {"limit": 100, **f("name", "noop")}),
        ("tasks, state = FAILED (none)", "/api/v0/tasks", {"limit": 100, **f("state", "FAILED")}),
        ("tasks, task_id = one", "/api/v0/tasks", f("task_id", some_id)),
        ("tasks summary", "/api/v0/tasks/summarize", {}),
        ("actors", "/api/v0/actors", {"limit": 100}),
        ("nodes", "/api/v0/nodes", {}),
        ("objects", "/api/v0/objects", {"limit": 100}),
    ]
    if name == "ember":  # Ray serves Prometheus text on its metrics export port instead
        cases.append(("/metrics", "/metrics", {}))
        cases.insert(1, ("tasks, middle page", "/api/v0/tasks",
                         {"limit": 100, "offset": total // 2}))
    rows = {}
    for label, path, params in cases:
        samples = []
        for _ in range(n_requests):
            t = time.perf_counter()
            get(path, params)
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        rows[label] = [statistics.median(samples),
                       samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]]
    print("RESULT " + json.dumps({"tasks": n_tasks, "task_s": task_s, "held": total,
                                  "rss_before": before, "rss_after": after, "rows": rows}),
          flush=True)
    rt.shutdown()
''')


def run(python: str, runtime: str, tasks: int, requests: int) -> dict:
    env = runtime_env()  # Ray's workers must not be rebuilt by `uv run`
    env.pop("EMBER_ADDRESS", None)
    env.pop("RAY_ADDRESS", None)
    env["RAY_AUTH_TOKEN"] = os.urandom(16).hex()  # Ray 2.60 enables token auth too
    print(f"{runtime}: {tasks:,} tasks…", file=sys.stderr, flush=True)
    out = subprocess.run([python, "-c", CHILD, runtime, str(tasks), str(requests)], env=env,
                         capture_output=True, text=True, timeout=3600)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{runtime} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def jobs_rows(n_jobs: int, requests: int) -> dict:
    """On a head (`ember start --head`): submit `n_jobs` jobs (`true`), wait for them, then
    time the jobs list (first and last page) and one job's record."""
    import tempfile
    import time
    import urllib.request

    tmp = tempfile.mkdtemp(prefix="ember-jobs-bench-")
    env = runtime_env(TMPDIR=tmp)
    env.pop("EMBER_ADDRESS", None)
    cli = [sys.executable, "-m", "ember._cli"]
    subprocess.run([*cli, "start", "--head", "--num-cpus", "1", "--port", "0",
                    "--dashboard-port", "0"], env=env, check=True, capture_output=True)
    try:
        with open(os.path.join(tmp, f"ember-{os.getuid()}", "current_cluster.json")) as f:
            info = json.load(f)
        with open(info["token_file"]) as f:
            auth = {"Authorization": "Bearer " + f.read().strip()}
        url = info["dashboard_url"]

        def call(method: str, path: str, body: dict | None = None) -> tuple[float, bytes]:
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(url + path, data=data, method=method,
                                         headers={**auth, "Content-Type": "application/json"})
            t = time.perf_counter()
            with urllib.request.urlopen(req) as r:
                out = r.read()
            return (time.perf_counter() - t) * 1000, out

        for i in range(n_jobs):
            call("POST", "/api/jobs/", {"entrypoint": "true", "submission_id": f"job-{i:05d}"})
        while True:
            _, body = call("GET", f"/api/jobs/?limit=1&offset={n_jobs - 1}")
            if json.loads(body)[0]["status"] not in ("PENDING", "RUNNING"):
                break
            time.sleep(0.2)
        rows = {}
        for label, path in ((f"jobs list, first page of {n_jobs:,}", "/api/jobs/?limit=100"),
                            ("jobs list, last page", f"/api/jobs/?limit=100&offset="
                                                     f"{max(0, n_jobs - 100)}"),
                            ("one job's record", "/api/jobs/job-00500")):
            samples = sorted(call("GET", path)[0] for _ in range(requests))
            rows[label] = [samples[len(samples) // 2],
                           samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]]
        return rows
    finally:
        subprocess.run([*cli, "stop"], env=env, capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--ray-tasks", type=int, default=100_000,
                   help="tasks for Ray (its GCS keeps 100,000 task events by default)")
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--ray-requests", type=int, default=5,
                   help="requests per endpoint for Ray (its task lists take seconds)")
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--jobs", type=int, default=1000, help="jobs for the jobs-list rows "
                   "(ember only: a Ray job starts a supervisor actor each)")
    a = p.parse_args()
    if a.jobs:
        for label, (p50, p95) in jobs_rows(a.jobs, a.requests).items():
            print(f"| {label} (ember head) | {p50:.1f} / {p95:.1f} |", flush=True)
    if not a.tasks:
        return
    results = {"ember": run(sys.executable, "ember", a.tasks, a.requests)}
    if a.ray_python:
        results["ray"] = run(a.ray_python, "ray", a.ray_tasks, a.ray_requests)
    names = list(results)
    head = " | ".join(f"{n} p50 / p95 (ms)" for n in names)
    print(f"| endpoint | {head} |")
    print("|---|" + "---:|" * len(names))
    labels = list(results["ember"]["rows"])
    for label in labels:
        cells = []
        for n in names:
            v = results[n]["rows"].get(label)
            cells.append(f"{v[0]:.1f} / {v[1]:.1f}" if v else "—")
        print(f"| {label} | {' | '.join(cells)} |")
    for n in names:
        r = results[n]
        print(f"| {n}: tasks run / rows held | {r['tasks']:,} in {r['task_s']:.0f} s / "
              f"{r['held']:,} |")
        print(f"| {n}: RSS of the holder before → after | {r['rss_before']:.0f} → "
              f"{r['rss_after']:.0f} MiB (+{r['rss_after'] - r['rss_before']:.0f}) |")


if __name__ == "__main__":
    main()
