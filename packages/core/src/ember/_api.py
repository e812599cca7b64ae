"""The core API: init/shutdown, get/put/wait, kill/cancel, actors by name, cluster info."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, cast

from ember import _options
from ember._core.caller import context, values
from ember._core.common import ids, refs
from ember._core.common.ids import handle_id
from ember._object_ref import ObjectRef, ObjectRefGenerator
from ember._ray_context import RayContext
from ember._remote_function import RemoteFunction
from ember.actor import ActorClass, ActorHandle

_init_lock = threading.RLock()


def _fresh_init_lock() -> None:
    # Workers are forked (through the template) while init() holds the lock: a child's
    # copy would stay locked forever, and its shutdown() at exit would never return.
    global _init_lock
    _init_lock = threading.RLock()


os.register_at_fork(after_in_child=_fresh_init_lock)
_atexit_registered = False  # shutdown() runs at exit once a session was started


def _detect_gpus() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    try:
        return len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        return 0


def init(address: str | None = None, *, num_cpus: int | None = None,
         num_gpus: int | None = None, resources: dict[str, float] | None = None,
         object_store_memory: int | None = None, namespace: str | None = None,
         runtime_env: dict | None = None, ignore_reinit_error: bool = False,
         include_dashboard: bool | None = None, log_to_driver: bool = True,
         labels: dict[str, str] | None = None, **kwargs: Any) -> RayContext:
    """Start an embedded one-node cluster for this driver (or join one: later releases).

    Returns the session's RayContext (as Ray's: `address_info`, `dashboard_url`, a
    mapping over `address_info`, a context manager that shuts down on exit). Calling it
    twice raises unless ignore_reinit_error=True.
    """
    with _init_lock:
        if context.session is not None:
            if ignore_reinit_error:
                return cast(RayContext, context.session.info)  # what init() made it
            raise RuntimeError("Maybe you called ember.init twice by accident? This error "
                               "can be suppressed with ember.init(ignore_reinit_error=True).")
        unknown = set(kwargs) - {"local_mode", "logging_level", "logging_format",
                                 "configure_logging", "_system_config", "_temp_dir",
                                 "dashboard_host", "dashboard_port", "job_config",
                                 "_memory", "_plasma_directory", "_node_ip_address"}
        if unknown:
            raise TypeError(f"init() got unexpected keyword arguments: {sorted(unknown)}")
        namespace, runtime_env = _from_job_config(kwargs.get("job_config"), namespace,
                                                  runtime_env)
        address = address or os.environ.get("EMBER_ADDRESS") or os.environ.get("RAY_ADDRESS")
        if address not in (None, "", "local"):
            if kwargs.get("_system_config") or labels:
                raise ValueError("_system_config and labels describe a new cluster's nodes; "
                                 "they cannot be passed when connecting to an existing one "
                                 "(set them with `ember start`).")
            return _connect(address, namespace, runtime_env,
                            (num_cpus, num_gpus, resources, object_store_memory))
        from ember._cluster import embedded
        from ember._core.caller.client import DriverClient
        from ember._core.common import procutil
        from ember._core.common import runtime_env as renv
        from ember._core.node.node_manager import NodeManager

        totals = _resources(num_cpus, num_gpus, resources)
        store_bytes = int(object_store_memory or min(procutil.total_memory_bytes() * 0.3,
                                                     200 << 30))
        if store_bytes < 1 << 20:
            raise ValueError(f"object_store_memory must be at least 1 MiB, got {store_bytes}.")
        session_dir = procutil.new_session_dir()
        job_id = os.urandom(4)
        ids.set_job(job_id)
        refs.current = refs.LocalRefs()
        from ember import _labels

        manager = NodeManager(resources=totals, object_store_memory=store_bytes,
                              session_dir=session_dir, job_id=job_id,
                              namespace=namespace or f"anon-{os.urandom(4).hex()}",
                              log_to_driver=log_to_driver,
                              labels=_labels.validate_node_labels(labels),
                              preload_modules=_preload_modules(kwargs.get("_system_config")),
                              object_spilling=_object_spilling(kwargs.get("_system_config")),
                              numpy_when_imported=True)
        client = DriverClient(manager)
        client.job_runtime_env = renv.validate(runtime_env)
        client.job_env_key = renv.env_key(client.job_runtime_env)
        session = context.Session(client=client, refs=refs.current, info={}, manager=manager,
                                  session_dir=session_dir)
        context.session = session
        token = embedded.session_token(session_dir)
        session.dashboard = _start_dashboard(include_dashboard, manager, session_dir, token,
                                             kwargs)
        embedded.publish(manager, session_dir, token,
                         session.dashboard.url if session.dashboard is not None else None)
        session.info = RayContext(_address_info(
            address="127.0.0.1", node_id=manager.node_id, node_ip=manager.node_ip,
            session_dir=session_dir,
            dashboard_url=session.dashboard.url if session.dashboard is not None else None,
            object_store_memory=store_bytes, resources=dict(manager.total_resources)))
        _session_started()
        return session.info


def _address_info(*, address: str, node_id: str, node_ip: str, session_dir: str,
                  dashboard_url: str | None, resources: dict,
                  **more: Any) -> dict[str, Any]:
    """init()'s address_info: ember's keys and Ray's (the dashboard's host:port is
    `webui_url`; its port serves the node's Prometheus `/metrics`, Ray's
    `metrics_export_port`)."""
    web = dashboard_url.split("://", 1)[-1] if dashboard_url else None
    port = int(web.rsplit(":", 1)[1]) if web and ":" in web else None
    return {"address": address, "gcs_address": address, "node_id": node_id,
            "node_ip_address": node_ip, "raylet_ip_address": node_ip,
            "session_dir": session_dir, "dashboard_url": dashboard_url, "webui_url": web,
            "metrics_export_port": port, "resources": resources, **more}


def _from_job_config(job_config: Any, namespace: str | None,
                     runtime_env: dict | None) -> tuple[str | None, dict | None]:
    """The namespace and runtime_env of init(job_config=JobConfig(...)); init's own
    arguments win."""
    if job_config is None:
        return namespace, runtime_env
    from ember.job_config import JobConfig

    if not isinstance(job_config, JobConfig):
        raise TypeError(f"job_config must be an ember.job_config.JobConfig, got "
                        f"{type(job_config).__name__}.")
    return (namespace if namespace is not None else job_config.ray_namespace,
            runtime_env if runtime_env is not None else (job_config.runtime_env or None))


def _report_early_metrics() -> None:
    """Metrics recorded before init() (ember.util.metrics) are reported from now on."""
    import sys

    metrics = sys.modules.get("ember.util.metrics")
    if metrics is not None:
        metrics.start_reporting()


def _start_dashboard(include: bool | None, manager: Any, session_dir: str, token: str,
                     kwargs: dict) -> Any:
    """The embedded cluster's dashboard (None if not wanted or not installed): it binds
    now and loads its web stack only when first used, so init stays fast."""
    if include is False or os.environ.get("EMBER_INCLUDE_DASHBOARD") == "0":
        return None
    from ember import dashboard

    if not dashboard.dependencies_installed():
        if include:
            raise ValueError("include_dashboard=True needs the dashboard's dependencies: "
                             "pip install 'ember[default]'")
        return None
    return dashboard.start_for_session(manager, session_dir, token,
                                       kwargs.get("dashboard_host") or "127.0.0.1",
                                       kwargs.get("dashboard_port"))


def _preload_modules(system_config: dict | None) -> list[str] | None:
    """Ray's `_system_config={"preload_python_modules": [...]}`: modules every worker of
    the new cluster has imported before it runs anything."""
    modules = (system_config or {}).get("preload_python_modules")
    if modules is None:
        return None
    if isinstance(modules, str) or not all(isinstance(m, str) for m in modules):
        raise TypeError("preload_python_modules must be a list of module names, got "
                        f"{modules!r}.")
    return list(modules)


def _object_spilling(system_config: dict | None) -> bool | None:
    """Ray's `_system_config={"automatic_object_spilling_enabled": False}`: a store that
    never spills to disk (None: the default, spilling on)."""
    value = (system_config or {}).get("automatic_object_spilling_enabled")
    return None if value is None else bool(value)


def _connect(address: str, namespace: str | None, runtime_env: dict | None,
             local_only: tuple) -> RayContext:
    """Attach this driver to the running cluster's node on this machine."""
    if any(v is not None for v in local_only):
        raise ValueError("num_cpus, num_gpus, resources and object_store_memory describe a "
                         "new cluster; they cannot be passed when connecting to an existing "
                         "one (set them with `ember start`).")
    from ember._cluster.connect import connect
    from ember._core.common import runtime_env as renv

    if runtime_env is None and os.environ.get("EMBER_JOB_RUNTIME_ENV"):
        import json  # a submitted job's driver: its job's runtime_env

        runtime_env = json.loads(os.environ["EMBER_JOB_RUNTIME_ENV"]) or None
    refs.current = refs.LocalRefs()
    client = connect(address, namespace)
    ids.set_job(client.info["job_id"])
    client.refs = refs.current
    client.job_runtime_env = renv.validate(runtime_env)
    client.job_env_key = renv.env_key(client.job_runtime_env)
    info = RayContext(_address_info(
        address=client.info["gcs_address"], node_id=client.info["node_id"],
        node_ip=client.info.get("node_ip") or "127.0.0.1",
        session_dir=client.info["session_dir"],
        dashboard_url=client.info.get("dashboard_url"), resources=client.info["totals"]))
    context.session = context.Session(client=client, refs=refs.current, info=info,
                                      connected=client)
    _session_started()
    return info


def _session_started() -> None:
    """Report metrics recorded before init() and make sure shutdown() runs at exit."""
    global _atexit_registered
    _report_early_metrics()
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True


def _resources(num_cpus: int | None, num_gpus: int | None,
               custom: dict[str, float] | None) -> dict[str, float]:
    cpus = os.cpu_count() or 1 if num_cpus is None else num_cpus
    if not isinstance(cpus, int | float) or cpus < 0:
        raise ValueError(f"num_cpus must be a number >= 0, got {num_cpus!r}.")
    gpus = _detect_gpus() if num_gpus is None else num_gpus
    out = {"CPU": float(cpus)}  # the node manager adds `memory` (70 % of the machine)
    if gpus:
        out["GPU"] = float(gpus)
    for k, v in (custom or {}).items():
        if k in ("CPU", "GPU"):
            raise ValueError(f"Use num_cpus/num_gpus instead of resources={{{k!r}: ...}}.")
        out[k] = float(v)
    return out


def _auto_init() -> Any:
    """Ray's auto-init on the first call; `RAY_ENABLE_AUTO_CONNECT=0` (or
    `EMBER_ENABLE_AUTO_CONNECT=0`) turns it off, so calls before init() raise."""
    with _init_lock:
        if context.session is None:
            if "0" in (os.environ.get("EMBER_ENABLE_AUTO_CONNECT"),
                       os.environ.get("RAY_ENABLE_AUTO_CONNECT")):
                from ember.exceptions import RaySystemError

                raise RaySystemError("ember has not been started yet (automatic "
                                     "connection is turned off). You can start it with "
                                     "'ember.init()'.")
            # As Ray's: join the cluster this process started with cluster_utils, if any.
            cluster_utils = sys.modules.get("ember.cluster_utils")
            if cluster_utils is None or not cluster_utils._auto_connect():
                init()
        assert context.session is not None
        return context.session.client


def is_initialized() -> bool:
    """Whether this process is connected to a cluster (by `init` or a first remote call)."""
    return context.session is not None


def shutdown() -> None:
    """Stop the embedded cluster: every worker exits and shared memory is released."""
    compiled = sys.modules.get("ember._compiled_dag")
    if compiled is not None:
        compiled.teardown_all()
    with _init_lock:
        session = context.session
        if session is None or not session.client.is_driver:
            return  # not connected, or a worker (its session ends with its process)
        context.session = None
        refs.current = refs.LocalRefs()
        if session.dashboard is not None:
            session.dashboard.stop()
        if session.connected is not None:
            session.connected.close()
        if session.manager is not None:
            session.manager.shutdown()
        session_dir = session.session_dir
        if session_dir:
            import shutil

            from ember._cluster import embedded

            embedded.withdraw(session_dir)

            shutil.rmtree(session_dir, ignore_errors=True)


def _client() -> Any:
    return context.require_client()


def get(object_refs: Any, *, timeout: float | None = None) -> Any:
    """Block until the object(s) are ready and return their values.

    A task's exception is re-raised here (as RayTaskError, also an instance of the
    original exception class); GetTimeoutError if `timeout` seconds pass first.
    """
    single = isinstance(object_refs, ObjectRef)
    compiled = None if single else sys.modules.get("ember._compiled_dag")
    if compiled is not None and compiled.is_compiled_ref(object_refs):
        return compiled.get(object_refs, timeout)  # results of a compiled graph
    if single:
        refs_list = [object_refs]
    elif isinstance(object_refs, list | tuple):
        refs_list = list(object_refs)
        for r in refs_list:
            if not isinstance(r, ObjectRef):
                raise TypeError(f"get() expects ObjectRefs, got {type(r).__name__} in the list.")
    else:
        raise ValueError("'object_refs' must either be an ObjectRef or a list of ObjectRefs, "
                         f"got {type(object_refs).__name__}.")
    timeout = _options.timeout(timeout)
    if not refs_list:
        return []
    out = values.values_or_raise(_client().get_objects([r.binary() for r in refs_list], timeout))
    return out[0] if single else out


def put(value: Any, *, _owner: Any = None) -> ObjectRef:
    """Store `value` in the object store and return a reference to it."""
    if isinstance(value, ObjectRef):
        raise TypeError("Calling 'put' on an ObjectRef is not allowed. If you really want "
                        "to do this, you can wrap the ObjectRef in a list and call 'put' "
                        "on it.")
    return ObjectRef(_client().put(value), _announce=False)


def wait(object_refs: Sequence[ObjectRef], *, num_returns: int = 1,
         timeout: float | None = None, fetch_local: bool = True
         ) -> tuple[list[ObjectRef], list[ObjectRef]]:
    """Return (ready, not_ready) once `num_returns` refs are ready or `timeout` passes."""
    if isinstance(object_refs, ObjectRef):
        raise TypeError("wait() expects a list of ObjectRefs, not a single ObjectRef.")
    refs_list = list(object_refs)
    # Few passes, each cheap: wait() is called in loops over long lists.
    if set(map(type, refs_list)) - {ObjectRef}:
        for r in refs_list:
            if not isinstance(r, ObjectRef | ObjectRefGenerator):
                raise TypeError(f"wait() expects ObjectRefs, got {type(r).__name__}.")
        if any(isinstance(r, ObjectRefGenerator) for r in refs_list):
            return _wait_with_generators(refs_list, num_returns, timeout)
    if not refs_list:
        return [], []
    ids = [r._id for r in refs_list]
    if len(set(ids)) != len(ids):
        raise ValueError("Wait requires a list of unique object refs.")
    if not isinstance(num_returns, int) or num_returns <= 0:
        raise ValueError(f"Invalid number of objects to return {num_returns}.")
    if num_returns > len(refs_list):
        raise ValueError("num_returns cannot be greater than the number of objects provided "
                         f"to wait ({num_returns} > {len(refs_list)}).")
    timeout = _options.timeout(timeout)
    ready_ids = _client().wait_ids(ids, num_returns, timeout, bool(fetch_local))
    return _split(refs_list, ids, ready_ids)


def _wait_with_generators(items: list, num_returns: int, timeout: float | None
                          ) -> tuple[list, list]:
    """wait() over ObjectRefs and streaming generators, as Ray's: a generator is ready
    once its next item is in or its task has ended."""
    import time

    if not isinstance(num_returns, int) or not 0 < num_returns <= len(items):
        raise ValueError(f"Invalid number of objects to return {num_returns} for "
                         f"{len(items)} refs and generators.")
    timeout = _options.timeout(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    events = {id(g): g._ready_event() for g in items if isinstance(g, ObjectRefGenerator)}
    refs = [r for r in items if isinstance(r, ObjectRef)]
    while True:
        ready_refs = set(wait(refs, num_returns=len(refs), timeout=0)[0]) if refs else set()
        ready = [x for x in items if (id(x) in events and events[id(x)].is_set())
                 or (id(x) not in events and x in ready_refs)]
        left = None if deadline is None else deadline - time.monotonic()
        if len(ready) >= num_returns or (left is not None and left <= 0):
            ready = ready[:num_returns]
            chosen = {id(x) for x in ready}
            return ready, [x for x in items if id(x) not in chosen]
        pending = [e for e in events.values() if not e.is_set()]
        step = 0.01 if left is None else min(0.01, left)
        if pending and not refs:
            pending[0].wait(step)
        else:
            time.sleep(step)


def _split(refs: list[ObjectRef], ids: list[bytes], ready_ids: list[bytes]
           ) -> tuple[list[ObjectRef], list[ObjectRef]]:
    """(ready, not_ready) in the order of `refs`; a few ready ones are found by index
    (at C speed) rather than by a Python pass over the whole list."""
    if len(ready_ids) > 16:
        chosen = set(ready_ids)
        return ([r for r, oid in zip(refs, ids, strict=True) if oid in chosen],
                [r for r, oid in zip(refs, ids, strict=True) if oid not in chosen])
    positions = sorted(ids.index(oid) for oid in ready_ids)
    not_ready: list[ObjectRef] = []
    start = 0
    for i in positions:
        not_ready += refs[start:i]
        start = i + 1
    not_ready += refs[start:]
    return [refs[i] for i in positions], not_ready


def kill(actor: ActorHandle, *, no_restart: bool = True) -> None:
    """Kill an actor's process now; with no_restart=False it may be restarted."""
    if not isinstance(actor, ActorHandle):
        raise ValueError(f"ember.kill() only supports actors; got {type(actor).__name__}.")
    _client().call("kill", actor._ember_actor_id, bool(no_restart))


def cancel(object_ref: ObjectRef | ObjectRefGenerator, *, force: bool = False,
           recursive: bool = True) -> None:
    """Cancel the task that makes `object_ref` (or a streaming generator's task); its get()
    raises TaskCancelledError."""
    if isinstance(object_ref, ObjectRefGenerator):
        oid = ids.return_id(object_ref.task_id(), 0)
    elif isinstance(object_ref, ObjectRef):
        oid = object_ref.binary()
    else:
        raise TypeError("ember.cancel() expects an ObjectRef or ObjectRefGenerator, got "
                        f"{type(object_ref).__name__}.")
    _client().call("cancel", oid, bool(force), bool(recursive))


def get_actor(name: str, namespace: str | None = None) -> ActorHandle:
    """Look up a named actor (in the current namespace unless given)."""
    if not isinstance(name, str) or not name:
        raise ValueError("Please supply a non-empty actor name.")
    info = _client().call("get_actor", name, namespace)
    # The node counts this process as a holder; a handle got by name is weak (Ray's rule:
    # the actor ends with its last strong handle), so that hold is given back at once.
    hid = handle_id(info["actor_id"])
    refs.current.add(hid, False)
    refs.current.remove(hid)
    return ActorHandle._weak(info["actor_id"], info["meta"])


def nodes() -> list[dict]:
    """One dict per node of the cluster (Ray's keys: NodeID, Alive, NodeManagerAddress,
    Resources, Labels, …), this node first."""
    return _client().call("cluster_info", "nodes")


def cluster_resources() -> dict[str, float]:
    """The total of every resource over the cluster's nodes ({"CPU": 8.0, …})."""
    return _client().call("cluster_info", "resources")


def available_resources() -> dict[str, float]:
    """The resources not held by running tasks and actors, summed over the nodes."""
    return _client().call("cluster_info", "available")


def get_gpu_ids() -> list[int]:
    """The GPU ids this worker may use (from CUDA_VISIBLE_DEVICES, which the node sets for
    a task or actor that asked for GPUs); [] if none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not visible:
        return []
    return [int(x) for x in visible.split(",") if x.strip().isdigit()]


def timeline(filename: str | None = None) -> list[dict]:
    """Chrome-trace events of finished tasks and actor calls, with their real start times
    and durations, one lane per worker (open in Perfetto or chrome://tracing)."""
    import json

    from ember._core.common.timeline import chrome_trace

    page = _client().call("state_page", "tasks", [], 0, 1 << 62)
    events = chrome_trace(page["rows"])
    if filename:
        with open(filename, "w") as f:
            json.dump(events, f)
    return events


def remote(*args: Any, **options: Any) -> Any:
    """Make a function a remote function or a class an actor class.

    `@ember.remote` or `@ember.remote(num_cpus=2, ...)`.
    """
    if len(args) == 1 and not options and callable(args[0]):
        return _make_remote(args[0], {})
    if args or not options:  # `@remote()` is refused as in Ray
        raise TypeError("The @ember.remote decorator must be applied either with no "
                        "arguments and no parentheses, or with keyword options only.")

    def deco(obj: Any) -> Any:
        return _make_remote(obj, options)

    return deco


def _make_remote(obj: Any, options: dict) -> Any:
    import inspect

    if inspect.isclass(obj):
        return ActorClass(obj, options)
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or callable(obj):
        return RemoteFunction(obj, options)
    raise TypeError("The @ember.remote decorator must be applied to a function or a class.")
