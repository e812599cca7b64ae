"""`ember start`, `ember stop`, `ember status`: run and inspect a cluster on this machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from ember._cluster.connect import cluster_file, load_token, read_cluster


def _labels_args(a: dict) -> list[str]:
    """`--labels-json` for a node process from `ember start --labels k=v,…` (checked here,
    so a bad label fails before anything starts)."""
    if not a.get("labels"):
        return []
    from ember import _labels

    return ["--labels-json", json.dumps(_labels.parse_labels(a["labels"]))]


def start(args: object) -> int:
    a = vars(args)
    if not a.get("head"):
        if not a.get("address"):
            print("ember start needs --head (a new cluster) or --address=HOST:PORT (join one).",
                  file=sys.stderr)
            return 2
        return _start_worker_node(a)
    existing = _running()
    if existing is not None:
        print(f"A cluster is already running here (head pid {existing['head_pid']}, "
              f"{existing['gcs_address']}). Stop it with `ember stop`.", file=sys.stderr)
        return 1
    resources = _node_resources(a)
    if resources is None:
        return 2
    from ember._core.common import procutil

    cmd = [sys.executable, "-m", "ember._cluster.head", "--host", a.get("host") or "127.0.0.1",
           "--port", str(a.get("port") if a.get("port") is not None else 6379),
           "--resources-json", json.dumps(resources)]
    cmd += _labels_args(a)
    if a.get("object_store_memory"):
        cmd += ["--object-store-memory", str(a["object_store_memory"])]
    if a.get("storage"):
        cmd += ["--storage", a["storage"]]
    cmd += _dashboard_args(a)
    if a.get("block"):
        os.execv(sys.executable, cmd)
    os.makedirs(procutil.session_root(), exist_ok=True)
    log_path = os.path.join(procutil.session_root(), "head.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            print(f"The head node failed to start (exit {proc.returncode}); see {log_path}",
                  file=sys.stderr)
            return 1
        info = _running()
        if info is not None and info.get("head_pid") == proc.pid:
            print(f"Started the head node (pid {proc.pid}).\n"
                  f"  Control store: {info['gcs_address']} (token in {info['token_file']})\n"
                  + (f"  Dashboard: {info['dashboard_url']} (the same token)\n"
                     if info.get("dashboard_url") else "")
                  + "  Attach a driver on this machine: ember.init(address=\"auto\")\n"
                  "  Stop it: ember stop")
            return 0
        time.sleep(0.05)
    proc.kill()
    print(f"The head node did not come up within 30 s; see {log_path}", file=sys.stderr)
    return 1


def _dashboard_args(a: dict) -> list[str]:
    include = a.get("include_dashboard")
    if include is False or (include is None and not _dashboard_available()):
        return ["--no-dashboard"]
    out = []
    if a.get("dashboard_host"):
        out += ["--dashboard-host", a["dashboard_host"]]
    if a.get("dashboard_port") is not None:
        out += ["--dashboard-port", str(a["dashboard_port"])]
    return out


def _dashboard_available() -> bool:
    from ember.dashboard.server import dependencies_installed

    return dependencies_installed()


def _node_resources(a: dict) -> dict | None:
    resources = json.loads(a.get("resources") or "{}")
    if not isinstance(resources, dict):
        print("--resources must be a JSON object, e.g. '{\"accel\": 2}'", file=sys.stderr)
        return None
    resources["CPU"] = float(a["num_cpus"]) if a.get("num_cpus") is not None else \
        float(os.cpu_count() or 1)
    if a.get("num_gpus"):
        resources["GPU"] = float(a["num_gpus"])
    from ember._core.common import procutil

    resources.setdefault("memory", float(int(procutil.total_memory_bytes() * 0.7)))
    return resources


def _start_worker_node(a: dict) -> int:
    """Join the cluster at --address as a worker node, in the background."""
    from ember._core.common import procutil

    token_file = a.get("token_file")
    local = _running()
    if token_file is None and local is not None and local["gcs_address"] == a["address"]:
        token_file = local["token_file"]
    if token_file is None and not os.environ.get("EMBER_CLUSTER_TOKEN"):
        print("Joining a cluster needs its token: --token-file PATH (the head prints where it "
              "is) or the EMBER_CLUSTER_TOKEN environment variable.", file=sys.stderr)
        return 2
    resources = _node_resources(a)
    if resources is None:
        return 2
    cmd = [sys.executable, "-m", "ember._cluster.worker_node", "--address", a["address"],
           "--host", a.get("host") or "127.0.0.1", "--resources-json", json.dumps(resources)]
    cmd += _labels_args(a)
    if token_file:
        cmd += ["--token-file", token_file]
    if a.get("object_store_memory"):
        cmd += ["--object-store-memory", str(a["object_store_memory"])]
    if a.get("metrics_export_port") is not None:
        cmd += ["--metrics-export-port", str(a["metrics_export_port"])]
    if a.get("block"):
        os.execv(sys.executable, cmd)
    nodes_dir = os.path.join(procutil.session_root(), "worker_nodes")
    os.makedirs(nodes_dir, exist_ok=True)
    log_path = os.path.join(procutil.session_root(), "worker-node.log")
    cmd += ["--log-file", log_path]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    line = proc.stdout.readline() if proc.stdout else b""
    if proc.stdout:
        proc.stdout.close()
    if not line:
        proc.wait()
        print(f"The worker node failed to start (exit {proc.returncode}); see {log_path}",
              file=sys.stderr)
        return 1
    info = json.loads(line)
    with open(os.path.join(nodes_dir, f"{proc.pid}.json"), "w") as f:
        json.dump({"pid": proc.pid, **info}, f)
    print(f"Joined the cluster at {a['address']} as node {info['node_id']} (pid {proc.pid})."
          + (f"\n  Metrics: {info['metrics_url']}/metrics" if info.get("metrics_url") else ""))
    return 0


def _running(include_embedded: bool = False) -> dict | None:
    """The running cluster's record; an embedded cluster's (someone's `ember.init()`
    program) only with `include_embedded`: `start` replaces it, `stop` leaves it."""
    try:
        info = read_cluster("auto")
    except ConnectionError:
        return None
    return info if include_embedded or not info.get("embedded") else None


def _stop_worker_nodes() -> int:
    from ember._core.common import procutil

    nodes_dir = os.path.join(procutil.session_root(), "worker_nodes")
    stopped = 0
    for name in os.listdir(nodes_dir) if os.path.isdir(nodes_dir) else []:
        pid = int(name.split(".")[0])
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + 15
            while _alive(pid) and time.time() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            stopped += 1
        os.remove(os.path.join(nodes_dir, name))
    return stopped


def stop(args: object) -> int:
    workers = _stop_worker_nodes()
    if workers:
        print(f"Stopped {workers} worker node(s).")
    info = _running()
    if info is None:
        if _running(include_embedded=True) is None:  # a stale record
            try:
                os.remove(cluster_file())
            except OSError:
                pass
        print("No cluster is running on this machine.")
        return 0
    pid = int(info["head_pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 15
    while time.time() < deadline:
        if not _alive(pid):
            print(f"Stopped the cluster (head pid {pid}).")
            return 0
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    print(f"Killed the head node (pid {pid}) after it did not stop in 15 s.")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def status(args: object) -> int:
    info = _running(include_embedded=True)
    if info is not None and info.get("embedded"):
        return _embedded_status(info)
    if info is None:
        print("No cluster is running on this machine (start one with `ember start --head`).")
        return 1
    from ember._cluster.gcs_client import GcsClient, demands_of
    from ember._core.node.demands import merge_demands

    client = GcsClient(info["gcs_address"], load_token(info))
    nodes = client.nodes()
    alive = [n for n in nodes if n.state == "ALIVE"]
    print(f"Cluster at {info['gcs_address']}: {len(alive)} node(s) alive, "
          f"{len(nodes) - len(alive)} dead")
    if info.get("dashboard_url"):
        print(f"Dashboard: {info['dashboard_url']}")
    totals: dict[str, float] = {}
    used: dict[str, float] = {}
    pending = 0.0
    for n in alive:
        role = "head" if n.is_head else "worker"
        print(f"  {n.node_id}  {role:6} {n.address}  "
              + ", ".join(f"{k}={v:g}" for k, v in sorted(n.resources.items())
                          if k != "memory"))
        for k, v in n.resources.items():
            totals[k] = totals.get(k, 0) + v
            used[k] = used.get(k, 0) + v - n.available.get(k, 0)
        pending += n.pending_demand
    print("Resources (used / total):")
    for k in sorted(totals):
        scale = 1 / 2**30 if k == "memory" else 1
        unit = " GiB" if k == "memory" else ""
        print(f"  {k}: {used[k] * scale:g}{unit} / {totals[k] * scale:g}{unit}")
    print(f"Pending demand: {pending:g} task(s) waiting for resources")
    waiting = [g for g in client.placement_groups() if g.state in ("PENDING", "RESCHEDULING")]
    for g in waiting:
        shape = ", ".join(str(dict(b.resources)) for b in g.bundles)
        print(f"  placement group {g.name or g.pg_id} ({g.strategy}, {g.state}): {shape}")
    client.close()
    _print_demands(merge_demands([demands_of(n) for n in alive]),
                   [(g.strategy, [dict(b.resources) for b in g.bundles]) for g in waiting])
    return 0


def _embedded_status(info: dict) -> int:
    """`ember status` of a program's embedded cluster (`ember.init()`): asked of its
    node, which the session's token lets this process attach to."""
    from ember._cluster.connect import connect

    client = connect("auto", None)
    try:
        total = client.call("cluster_info", "resources")
        available = client.call("cluster_info", "available")
        demands = client.call("cluster_info", "demands")
        groups = client.call("state_page", "placement_groups", [], 0, 1 << 30)["rows"]
    finally:
        client.close()
    print(f"Embedded cluster of process {info['head_pid']} (ember.init()): 1 node(s) alive")
    if info.get("dashboard_url"):
        print(f"Dashboard: {info['dashboard_url']}")
    print("Resources (used / total):")
    for k in sorted(total):
        scale = 1 / 2**30 if k == "memory" else 1
        unit = " GiB" if k == "memory" else ""
        used = total[k] - available.get(k, 0.0)
        print(f"  {k}: {used * scale:g}{unit} / {total[k] * scale:g}{unit}")
    waiting = [(g["strategy"], list(g["bundles"].values())) for g in groups
               if g["state"] in ("PENDING", "RESCHEDULING")]
    _print_demands(demands, waiting)
    return 0


def _print_demands(demands: list, waiting_groups: list[tuple[str, list[dict]]]) -> None:
    """Ray's "Demands:" section: per resource shape, the tasks and actors waiting for it,
    then the placement groups waiting to be placed."""
    from ember._core.node.demands import format_demands

    lines = format_demands(demands)
    groups: dict[str, int] = {}
    for strategy, bundles in waiting_groups:
        shapes: dict[str, int] = {}
        for b in bundles:
            key = str({k: float(v) for k, v in sorted(b.items())})
            shapes[key] = shapes.get(key, 0) + 1
        pg = ", ".join(f"{k} * {n}" for k, n in shapes.items()) + f" ({strategy})"
        groups[pg] = groups.get(pg, 0) + 1
    lines += [f" {pg}: {n}+ pending placement groups" for pg, n in groups.items()]
    print("Demands:")
    print("\n".join(lines) if lines else " (no resource demands)")
