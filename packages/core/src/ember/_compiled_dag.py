"""Compiled graphs, as Ray's `dag.experimental_compile()`: a static graph of method calls
on existing actors, set up once, then run many times through shared-memory channels.

    with InputNode() as inp:
        dag = b.echo.bind(a.echo.bind(inp))
    compiled = dag.experimental_compile()
    ember.get(compiled.execute("hello"))     # a CompiledDAGRef; get() gives the value
    compiled.teardown()

Compiling plans the graph (each actor's calls in the graph's order, one channel per
edge that crosses processes: driver → actor for the input, actor → actor, actor →
driver for each output), creates the channels (`ember.experimental.channel`) and starts,
once, a loop in each actor (`__ray_call__` in the system concurrency group). `execute`
then writes the input into the input channels and returns at once; `get` reads the
output channel. No task is submitted and nothing passes through the node manager.
Constant arguments are pickled once, at compile time.

Errors follow Ray: a method's exception comes back at `get` as RayTaskError (also an
instance of the original type) and the graph keeps working; too many executions not yet
read raise RayCgraphCapacityExceeded; a `get` past its timeout (Ray's default 10 s,
`RAY_CGRAPH_get_timeout`) raises RayChannelTimeoutError (a GetTimeoutError); an actor of
the graph that dies makes `get` raise ActorDiedError and tears the graph down (the
driver watches each actor's pidfd, so this needs no timeout).
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import threading
import time
import weakref
from typing import Any

from ember import exceptions as ex
from ember._compiled_loop import (
    ERROR,
    ActorPlan,
    ArgSource,
    CompiledDAGArgs,
    TaskPlan,
    dumps,
    start,
)
from ember._core.common.spin import spin_limit
from ember.experimental.channel import (
    ChannelClosed,
    ChannelReader,
    ChannelSpec,
    ChannelWriter,
    PeerDied,
    close_channel,
    create_channel,
    new_channel_dir,
)

__all__ = ["CompiledDAG", "CompiledDAGFuture", "CompiledDAGRef", "get", "is_compiled_ref",
           "teardown_all"]

_SUBMIT_TIMEOUT_S = float(os.environ.get("RAY_CGRAPH_submit_timeout", 10))
_GET_TIMEOUT_S = float(os.environ.get("RAY_CGRAPH_get_timeout", 10))
_BUFFER_SIZE_BYTES = int(float(os.environ.get("RAY_CGRAPH_buffer_size_bytes", 1e6)))
_MAX_INFLIGHT = int(os.environ.get("RAY_CGRAPH_max_inflight_executions", 10))
_LIVENESS_SLICE_S = 0.2  # only where pidfds are missing: how often pids are checked
_live: weakref.WeakSet[CompiledDAG] = weakref.WeakSet()
_atexit_registered = False


class CompiledDAGRef:
    """The result of one `execute()` for one output; `ember.get(ref)` or `ref.get()`
    returns it, once."""

    def __init__(self, dag: CompiledDAG, index: int, channel: int) -> None:
        self._dag = dag
        self._index = index
        self._channel = channel
        self._got = False

    def __repr__(self) -> str:
        return (f"CompiledDAGRef({self._dag._id}, execution_index={self._index}, "
                f"channel_index={self._channel})")

    def get(self, timeout: float | None = None) -> Any:
        """The value (a method's exception is raised); `timeout` None means Ray's
        default (10 s), -1 no limit."""
        if self._got:
            raise ValueError("ray.get() can only be called once on a CompiledDAGRef, and "
                             "it was already called.")
        self._got = True
        try:
            return self._dag._result(self._index, self._channel, timeout)
        except ex.RayChannelTimeoutError:  # never got now: drop the result when it comes
            self._dag._discard(self._index, self._channel)
            raise

    def __del__(self) -> None:
        if not self._got:
            try:
                self._dag._discard(self._index, self._channel)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass


class CompiledDAGFuture:
    """What `await compiled.execute_async(...)` gives: await it for the value."""

    def __init__(self, ref: CompiledDAGRef) -> None:
        self._ref = ref

    def __await__(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        return loop.run_in_executor(None, self._ref.get, -1).__await__()


class CompiledDAG:
    """A graph compiled into channels and per-actor loops; see the module docstring."""

    def __init__(self, root: Any, submit_timeout: float | None = None,
                 buffer_size_bytes: int | None = None, enable_asyncio: bool = False,
                 max_inflight_executions: int | None = None) -> None:
        self._submit_timeout = _SUBMIT_TIMEOUT_S if submit_timeout is None else submit_timeout
        self._slot_bytes = _BUFFER_SIZE_BYTES if buffer_size_bytes is None else \
            buffer_size_bytes
        self._max_inflight = _MAX_INFLIGHT if max_inflight_executions is None else \
            max_inflight_executions
        if not isinstance(self._slot_bytes, int) or self._slot_bytes <= 0:
            raise ValueError("`buffer_size_bytes` must be a positive integer, found "
                             f"{self._slot_bytes}")
        if not isinstance(self._max_inflight, int) or not 1 <= self._max_inflight < 60000:
            raise ValueError("`max_inflight_executions` must be an int in [1, 60000), found "
                             f"{self._max_inflight}")
        self._enable_asyncio = enable_asyncio
        self._id = os.urandom(8).hex()
        self._torn_down = False
        self._submit_lock = threading.Lock()
        self._read_lock = threading.RLock()
        self._count = 0
        self._buffer: dict[tuple[int, int], tuple[int, bytes]] = {}
        self._discarded: set[tuple[int, int]] = set()
        self._dir = new_channel_dir()
        self._channels: list[ChannelSpec] = []
        self._writers: list[ChannelWriter] = []
        self._readers: list[ChannelReader] = []
        self._pidfds: dict[int, tuple[Any, int]] = {}  # fd -> (handle, pid)
        self._pids: list[tuple[Any, int]] = []
        try:
            self._compile(root)
        except BaseException:
            self.teardown()
            raise
        _live.add(self)
        global _atexit_registered
        if not _atexit_registered:
            atexit.register(teardown_all)
            _atexit_registered = True

    # -- compiling --------------------------------------------------------------------

    def _channel(self, name: str) -> ChannelSpec:
        spec = create_channel(self._dir, name, self._max_inflight, self._slot_bytes)
        self._channels.append(spec)
        return spec

    def _compile(self, root: Any) -> None:
        from ember import _api
        from ember.dag import MultiOutputNode

        self._returns_list = isinstance(root, MultiOutputNode)
        outputs = list(root._bound_args[0]) if self._returns_list else [root]
        order = _topological(outputs)
        index = {id(n): i for i, n in enumerate(order)}
        actor_of = [n._target._ember_actor_id for n in order]
        handles = {n._target._ember_actor_id: n._target for n in order}
        keys = list(handles)
        outs: list[list[ChannelSpec]] = [[] for _ in order]
        upstream: dict[bytes, dict[int, ChannelSpec]] = {k: {} for k in keys}
        uses_input: set[bytes] = set()
        self._positional = 0
        tasks: dict[bytes, list[TaskPlan]] = {k: [] for k in keys}
        out_specs: list[ChannelSpec] = []
        for i, node in enumerate(order):
            me = actor_of[i]

            def source(value: Any, me: bytes = me) -> ArgSource:
                src = self._source(value, index)
                if src.kind == "input":
                    uses_input.add(me)
                elif src.kind == "task" and actor_of[src.task] != me and \
                        src.task not in upstream[me]:
                    spec = self._channel(f"t{src.task}-a{keys.index(me)}")
                    upstream[me][src.task] = spec
                    outs[src.task].append(spec)
                return src

            args = tuple(source(a) for a in node._bound_args)
            kwargs = tuple((k, source(v)) for k, v in node._bound_kwargs.items())
            cls = handles[me]._meta["class_name"].rsplit(".", 1)[-1]
            tasks[me].append(TaskPlan(i, node._method, f"{cls}.{node._method}", args,
                                      kwargs, ()))
        for pos, node in enumerate(outputs):
            spec = self._channel(f"out{pos}")
            outs[index[id(node)]].append(spec)
            out_specs.append(spec)
        # An actor reads the input each execution if it uses it or reads no other channel
        # (its calls take constants only: the input tells it when to run them).
        inputs = {k: self._channel(f"in-a{n}") for n, k in enumerate(keys)
                  if k in uses_input or not upstream[k]}
        # Ready first: a system-group call may otherwise run before the constructor ends.
        _api.get([handles[k].__ray_ready__.remote() for k in keys],
                 timeout=max(self._submit_timeout, 30.0))
        # How long channel reads watch for a message (yielding the core) before they
        # sleep: 300 µs; EMBER_CGRAPH_SPIN_US sets it.
        spin_s = spin_limit("EMBER_CGRAPH_SPIN_US", 300e-6)
        refs = []
        for k in keys:
            plan = ActorPlan(
                tuple(TaskPlan(t.index, t.method, t.name, t.args, t.kwargs,
                               tuple(outs[t.index])) for t in tasks[k]),
                inputs.get(k), tuple(upstream[k].items()), os.getpid(), spin_s)
            refs.append(handles[k].__ray_call__.options(
                concurrency_group="_ray_system").remote(start, plan))
        pids = _api.get(refs, timeout=max(self._submit_timeout, 30.0))
        self._pids = [(handles[k], pid) for k, pid in zip(keys, pids, strict=True)]
        for handle, pid in self._pids:
            try:
                self._pidfds[os.pidfd_open(pid)] = (handle, pid)
            except (AttributeError, OSError):
                pass
        watch = tuple(self._pidfds) if len(self._pidfds) == len(self._pids) else ()
        self._readers = [ChannelReader(s, watch, spin_s) for s in out_specs]
        self._writers = [ChannelWriter(inputs[k]) for k in keys if k in inputs]

    def _source(self, value: Any, index: dict[int, int]) -> ArgSource:
        from ember.dag import ClassMethodNode, DAGNode, InputAttributeNode, InputNode

        if isinstance(value, InputNode):
            return ArgSource("input")
        if isinstance(value, InputAttributeNode):
            if isinstance(value._key, int):
                self._positional = max(self._positional, value._key + 1)
            return ArgSource("input", key=value._key, how=value._how)
        if isinstance(value, ClassMethodNode):
            return ArgSource("task", task=index[id(value)])
        if isinstance(value, DAGNode):
            raise NotImplementedError(f"Compiled graphs do not support {type(value).__name__}"
                                      " as an argument.")
        _reject_nested(value)
        return ArgSource("const", value=value)

    # -- running ----------------------------------------------------------------------

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Start one execution; returns a CompiledDAGRef (a list of them for a
        MultiOutputNode)."""
        if self._enable_asyncio:
            raise ValueError("Use execute_async if enable_asyncio=True")
        return self._submit(args, kwargs)

    async def execute_async(self, *args: Any, **kwargs: Any) -> Any:
        """As `execute`, for graphs compiled with `enable_asyncio=True`: returns a
        CompiledDAGFuture (or a list of them) to await."""
        if not self._enable_asyncio:
            raise ValueError("Use execute if enable_asyncio=False")
        out = self._submit(args, kwargs)
        if isinstance(out, list):
            return [CompiledDAGFuture(r) for r in out]
        return CompiledDAGFuture(out)

    def _submit(self, args: tuple, kwargs: dict) -> Any:
        if self._torn_down:
            raise ex.RayChannelError("The compiled graph has been torn down.")
        if len(args) < self._positional:
            raise ValueError("dag.execute() or dag.execute_async() must be called with "
                             f"{self._positional} positional args, got {len(args)}")
        payload = dumps(args[0] if len(args) == 1 and not kwargs else
                        CompiledDAGArgs(args, kwargs))
        with self._submit_lock:
            if self._inflight() >= self._max_inflight:
                self._release_discarded()
            n = self._inflight()
            if n >= self._max_inflight:
                raise ex.RayCgraphCapacityExceeded(
                    f"The compiled graph can't have more than {self._max_inflight} "
                    f"in-flight executions, and you currently have {n} in-flight "
                    "executions. Retrieve an output using ray.get before submitting more "
                    "requests or increase `_max_inflight_executions`. "
                    "`dag.experimental_compile(_max_inflight_executions=...)`")
            try:
                for w in self._writers:
                    w.write(0, payload, self._submit_timeout)
            except TimeoutError as e:
                raise ex.RayChannelTimeoutError(
                    "If the execution is expected to take a long time, increase "
                    f"RAY_CGRAPH_submit_timeout which is currently {self._submit_timeout} "
                    "seconds. Otherwise, this may indicate that execution is hanging.") from e
            except (ChannelClosed, ValueError) as e:
                raise ex.RayChannelError("The compiled graph has been torn down.") from e
            index = self._count
            self._count += 1
        if self._returns_list:
            return [CompiledDAGRef(self, index, c) for c in range(len(self._readers))]
        return CompiledDAGRef(self, index, 0)

    def _inflight(self) -> int:
        return self._count - min(r._seq for r in self._readers)

    def _release_discarded(self) -> None:
        """Read (and drop) results whose refs were dropped unread, as Ray does before
        refusing a new execution."""
        with self._read_lock:
            for c, r in enumerate(self._readers):
                while (r._seq, c) in self._discarded:
                    self._read(c, self._deadline(self._submit_timeout))

    def _discard(self, index: int, channel: int) -> None:
        if self._torn_down:
            return
        self._discarded.add((index, channel))
        self._buffer.pop((index, channel), None)

    @staticmethod
    def _deadline(timeout: float | None) -> float | None:
        if timeout is None:
            timeout = _GET_TIMEOUT_S
        return None if timeout == -1 else time.monotonic() + max(0.0, timeout)

    def _result(self, index: int, channel: int, timeout: float | None) -> Any:
        deadline = self._deadline(timeout)
        with self._read_lock:
            key = (index, channel)
            while key not in self._buffer:
                self._read(channel, deadline)
            kind, payload = self._buffer.pop(key)
        if kind == ERROR:
            err = pickle.loads(payload)
            raise err.as_instanceof_cause() if isinstance(err, ex.RayTaskError) else err
        return pickle.loads(payload)

    def _read(self, channel: int, deadline: float | None) -> None:
        """Read the next message of one output channel into the buffer."""
        if self._torn_down:
            raise ex.RayChannelError("The compiled graph has been torn down.")
        reader = self._readers[channel]
        sliced = not reader._watch  # no pidfds: check the actors' pids now and then
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = left if not sliced else min(left if left is not None else
                                               _LIVENESS_SLICE_S, _LIVENESS_SLICE_S)
            try:
                kind, payload = reader.read(wait)
                break
            except TimeoutError:
                if sliced:
                    self._check_pids()
                if left is not None and left <= (wait or 0.0):
                    raise ex.RayChannelTimeoutError(
                        "If the execution is expected to take a long time, increase "
                        f"RAY_CGRAPH_get_timeout which is currently {_GET_TIMEOUT_S} "
                        "seconds. Otherwise, this may indicate that the execution is "
                        "hanging.") from None
            except PeerDied as e:
                self._actor_died(*self._pidfds[e.fd])
            except ChannelClosed:
                raise ex.RayChannelError("The compiled graph has been torn down.") from None
        index = reader._seq - 1
        if (index, channel) in self._discarded:
            self._discarded.discard((index, channel))
        else:
            self._buffer[(index, channel)] = (kind, payload)

    def _check_pids(self) -> None:
        for handle, pid in self._pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
            except OSError:
                alive = False
            if not alive:
                self._actor_died(handle, pid)

    def _actor_died(self, handle: Any, pid: int) -> None:
        self.teardown()
        name = handle._meta["class_name"].rsplit(".", 1)[-1]
        raise ex.ActorDiedError(
            f"The actor {name} ({handle._ember_actor_id.hex()}, pid {pid}) of this compiled graph "
            "died; the compiled graph was torn down.", handle._ember_actor_id.hex())

    def teardown(self, kill_actors: bool = False) -> None:
        """Stop the actors' loops and free the channels (idempotent); with
        `kill_actors=True` also kill the actors."""
        if self._torn_down:
            return
        self._torn_down = True
        _live.discard(self)
        for spec in self._channels:
            close_channel(spec)
        if self._read_lock.acquire(timeout=1.0):  # no reader is inside a channel now
            try:
                for end in [*self._readers, *self._writers]:
                    end.close()
            finally:
                self._read_lock.release()
        for fd in self._pidfds:
            os.close(fd)
        self._pidfds.clear()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._buffer.clear()
        if kill_actors:
            from ember import _api

            for handle, _ in self._pids:
                _api.kill(handle)

    def __del__(self) -> None:
        try:
            self.teardown()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _topological(outputs: list) -> list:
    """The graph's method calls, each after the calls it reads from."""
    from ember.dag import ClassMethodNode, DAGNode, InputAttributeNode, InputNode

    order: list = []
    seen: set[int] = set()

    def visit(node: Any) -> None:
        if id(node) in seen or isinstance(node, InputNode | InputAttributeNode):
            return
        if not isinstance(node, ClassMethodNode) or not hasattr(node._target, "_actor_id"):
            raise NotImplementedError(
                "Compiled graphs support only method calls of existing actors "
                f"(handle.method.bind(...)), got {type(node).__name__}.")
        num_returns = node._bound._template.num_returns if node._bound else 1
        if num_returns != 1 or node._bound_options:
            raise NotImplementedError("Compiled graphs support methods with one return "
                                      "value and no options.")
        seen.add(id(node))
        for a in [*node._bound_args, *node._bound_kwargs.values()]:
            if isinstance(a, DAGNode):
                visit(a)
        order.append(node)

    for node in outputs:
        if isinstance(node, InputNode | InputAttributeNode):
            raise ValueError("The outputs of a compiled graph must be actor method calls, "
                             f"got {type(node).__name__}.")
        visit(node)
    return order


def _reject_nested(value: Any) -> None:
    from ember.dag import DAGNode

    items: Any = value.values() if isinstance(value, dict) else value
    if isinstance(value, list | tuple | dict):
        for v in items:
            if isinstance(v, DAGNode):
                raise NotImplementedError("Compiled graphs do not support graph nodes "
                                          "nested in list, tuple or dict arguments.")
            _reject_nested(v)


def is_compiled_ref(value: Any) -> bool:
    """True for a CompiledDAGRef or a non-empty list/tuple of them (for ember.get)."""
    if isinstance(value, CompiledDAGRef):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(v, CompiledDAGRef) for v in value)


def get(value: Any, timeout: float | None) -> Any:
    """ember.get on CompiledDAGRefs: one value, or a list in order."""
    if isinstance(value, CompiledDAGRef):
        return value.get(timeout)
    if timeout is None or timeout == -1:
        return [r.get(timeout) for r in value]
    deadline = time.monotonic() + timeout
    return [r.get(max(0.0, deadline - time.monotonic())) for r in value]


def teardown_all() -> None:
    """Tear down every live compiled graph of this process (at ember.shutdown)."""
    for dag in list(_live):
        dag.teardown()
