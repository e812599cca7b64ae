"""Cluster: several nodes as separate processes on one machine, for tests and trials.

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=2, resources={"accel": 1})
    cluster.wait_for_nodes()
    ember.init(address=cluster.address)
    ...
    cluster.shutdown()
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

__all__ = ["Cluster", "NodeHandle", "cluster_not_supported"]

# Ray sets this on platforms where its Cluster cannot run (Windows); it runs everywhere here.
cluster_not_supported = False
# The cluster this process started last (while it has a head): Ray's auto-init, the
# first remote call before any init(), connects to it (see `_auto_connect`).
_latest: Cluster | None = None


def _auto_connect() -> bool:
    """Connect this driver to the cluster it started, if one runs (for auto-init)."""
    cluster = _latest
    if cluster is None or cluster.head_node is None:
        return False
    cluster.connect()
    return True


class NodeHandle:
    """One node process of a Cluster."""

    def __init__(self, proc: subprocess.Popen, node_id: str, is_head: bool) -> None:
        self.proc = proc
        self.node_id = node_id
        self.is_head = is_head

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __repr__(self) -> str:
        return f"NodeHandle({'head' if self.is_head else 'worker'}, {self.node_id})"


class Cluster:
    """Start a head and worker nodes as processes on this machine (Ray's cluster_utils)."""

    def __init__(self, initialize_head: bool = False, connect: bool = False,
                 head_node_args: dict | None = None, shutdown_at_exit: bool = True) -> None:
        self._dir = tempfile.mkdtemp(prefix="ember-cluster-")
        self._prev_tmp = os.environ.get("EMBER_TMPDIR")
        os.environ["EMBER_TMPDIR"] = self._dir  # this process finds the cluster here
        self.head_node: NodeHandle | None = None
        self.worker_nodes: list[NodeHandle] = []
        self._removed: set[str] = set()
        self._info: dict = {}
        self._preload: list[str] | None = None  # the head's preload_python_modules
        self._spilling: bool | None = None  # its automatic_object_spilling_enabled
        self.connected = False
        if shutdown_at_exit:
            import atexit

            atexit.register(self.shutdown)
        if initialize_head:
            self.add_node(**(head_node_args or {}))
            if connect:
                self.connect()

    @property
    def address(self) -> str:
        if not self._info:
            raise RuntimeError("The cluster has no head node yet: call add_node() first.")
        return self._info["gcs_address"]

    @property
    def gcs_address(self) -> str:
        return self.address

    def _env(self) -> dict:
        return dict(os.environ, EMBER_TMPDIR=self._dir)

    def add_node(self, num_cpus: float = 1, num_gpus: float = 0,
                 resources: dict[str, float] | None = None,
                 object_store_memory: int | None = None, wait: bool = True,
                 host: str = "127.0.0.1", heartbeat_period_s: float = 0.2,
                 dead_after_s: float = 2.0, netns: str | None = None,
                 labels: dict[str, str] | None = None,
                 _system_config: dict | None = None, **_: Any) -> NodeHandle:
        """Start a node; the first one is the head. `labels` are the node's labels for
        label_selector scheduling. The head's `_system_config` holds for every node, as
        in Ray; of its keys, ember's nodes read `preload_python_modules` (modules every
        worker has imported before it runs anything) and
        `automatic_object_spilling_enabled`."""
        from ember import _api, _labels

        if self.head_node is None:
            self._preload = _api._preload_modules(_system_config)
            self._spilling = _api._object_spilling(_system_config)

        res = {"CPU": float(num_cpus), **{k: float(v) for k, v in (resources or {}).items()}}
        if num_gpus:
            res["GPU"] = float(num_gpus)
        log = open(os.path.join(self._dir, f"node-{len(self.worker_nodes)}.log"), "ab")
        if self.head_node is None:
            cmd = [sys.executable, "-m", "ember._cluster.head", "--port", "0",
                   "--resources-json", json.dumps(res), "--host", host,
                   "--heartbeat-period", str(heartbeat_period_s),
                   "--dead-after", str(dead_after_s)]
        else:
            cmd = [sys.executable, "-m", "ember._cluster.worker_node", "--address",
                   self.address, "--token-file", self._info["token_file"],
                   "--resources-json", json.dumps(res), "--host", host]
        if labels:
            cmd += ["--labels-json", json.dumps(_labels.validate_node_labels(labels))]
        if netns:  # run the node inside a network namespace (`ip netns`)
            cmd = ["ip", "netns", "exec", netns, *cmd]
        if object_store_memory:
            cmd += ["--object-store-memory", str(int(object_store_memory))]
        known = {n.node_id for n in self._nodes()} if self.head_node is not None else set()
        env = self._env()
        if self._preload is not None:
            env["EMBER_PRELOAD_PYTHON_MODULES"] = ",".join(self._preload)
        if self._spilling is not None:
            env["EMBER_OBJECT_SPILLING"] = "1" if self._spilling else "0"
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        log.close()
        try:
            node_id = self._wait_started(proc, known)
        except BaseException:  # a timeout, or the caller interrupted (a test's time limit)
            proc.kill()
            proc.wait(timeout=30)
            raise
        handle = NodeHandle(proc, node_id, is_head=self.head_node is None)
        if self.head_node is None:
            global _latest
            self.head_node = handle
            _latest = self
        else:
            self.worker_nodes.append(handle)
        if wait:
            self.wait_for_nodes()
        return handle

    def _wait_started(self, proc: subprocess.Popen, known: set[str]) -> str:
        deadline = time.time() + 60
        path = os.path.join(self._dir, "ember", "current_cluster.json")
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"The node process exited with {proc.returncode}; see the "
                                   f"logs in {self._dir}")
            if self.head_node is None:
                try:
                    with open(path) as f:
                        info = json.load(f)
                    if info.get("head_pid") == proc.pid:
                        self._info = info
                        return info["node_id"]
                except (OSError, ValueError):
                    pass
            else:
                new = [n.node_id for n in self._nodes()
                       if n.node_id not in known and n.state == "ALIVE"]
                if new:
                    return new[0]
            time.sleep(0.05)
        proc.kill()
        raise TimeoutError("A node did not start within 60 s.")

    def _client(self) -> Any:
        from ember._cluster.gcs_client import GcsClient

        with open(self._info["token_file"]) as f:
            return GcsClient(self.address, f.read().strip())

    def _nodes(self) -> list[Any]:
        client = self._client()
        try:
            return client.nodes()
        finally:
            client.close()

    def remove_node(self, node: NodeHandle, allow_graceful: bool = True) -> None:
        """Stop a node: SIGTERM (graceful) or SIGKILL (a crash)."""
        node.proc.send_signal(signal.SIGTERM if allow_graceful else signal.SIGKILL)
        try:
            node.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            node.proc.wait()
        self._removed.add(node.node_id)
        if node in self.worker_nodes:
            self.worker_nodes.remove(node)

    def wait_for_nodes(self, timeout: float = 30) -> None:
        """Block until the control store sees every added node alive."""
        want = {n.node_id for n in self.list_all_nodes()}
        deadline = time.time() + timeout
        while time.time() < deadline:
            alive = {n.node_id for n in self._nodes() if n.state == "ALIVE"}
            if want <= alive:
                return
            time.sleep(0.05)
        raise TimeoutError(f"Timed out waiting for nodes {sorted(want)} to be alive.")

    def list_all_nodes(self) -> list[NodeHandle]:
        return ([self.head_node] if self.head_node else []) + list(self.worker_nodes)

    def connect(self, namespace: str | None = None) -> dict:
        import ember

        info = ember.init(address=self.address, namespace=namespace)
        self.connected = True
        return info

    def shutdown(self) -> None:
        import ember

        if self.connected:
            ember.shutdown()
            self.connected = False
        for node in list(self.worker_nodes):
            self.remove_node(node)
        if self.head_node is not None:
            self.remove_node(self.head_node)
            self.head_node = None
        global _latest
        if _latest is self:
            _latest = None
        if self._prev_tmp is None:
            os.environ.pop("EMBER_TMPDIR", None)
        else:
            os.environ["EMBER_TMPDIR"] = self._prev_tmp
        shutil.rmtree(self._dir, ignore_errors=True)
