"""Running tasks and actor methods inside a worker, and reporting their results."""

from __future__ import annotations

import inspect
import os
import pickle
import sys
import threading
import time
import traceback
from typing import Any

from ember._core.caller import args as argpack
from ember._core.caller import context
from ember._core.common import ids, messages, procutil, serialization
from ember._core.common.constants import INLINE_MAX, STREAMING, SYSTEM_GROUP
from ember._core.common.specs import ActorSpec, TaskSpec
from ember.exceptions import RayTaskError, TaskCancelledError

IDLE_TITLE = "ray::IDLE"  # what `ps` shows for a worker between tasks, as in Ray


class ExitActor(BaseException):
    """Raised by exit_actor() to leave the actor after the current call."""


class Runner:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.fns: dict[bytes, Any] = {}
        self.instance: Any = None
        self.actor_id: bytes | None = None
        self.actor_name = ""  # the actor's class
        self.registered_name = ""  # the name it was created with (options(name=...))
        self.keep: dict[bytes, Any] = {}  # results whose refs must outlive "done"
        self.methods: dict[str, Any] = {}  # the actor's bound methods, by name
        self.names: dict[Any, str] = {}  # Ray's function names, by function id or method
        self.set_gpus = False
        # Ray's RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO=1: work given no GPU sees an empty
        # CUDA_VISIBLE_DEVICES (no GPU at all) instead of the machine's.
        self.hide_gpus = "1" in (os.environ.get("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO"),
                                 os.environ.get("EMBER_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO"))
        self.actor_gpus = False
        # Ray sets OMP_NUM_THREADS to the task's CPUs unless the environment already does.
        self.omp_fixed = "OMP_NUM_THREADS" in os.environ
        self.omp = ""
        procutil.set_title(IDLE_TITLE)

    # -- helpers ----------------------------------------------------------------------

    def _function(self, spec: TaskSpec | ActorSpec) -> Any:
        fn_id = spec.fn_id or b""
        fn = self.fns.get(fn_id)
        if fn is None:
            if spec.fn_bytes is None:
                raise RuntimeError(f"The function of {spec.name!r} was never sent here.")
            fn = pickle.loads(spec.fn_bytes)
            self.fns[fn_id] = fn
        return fn

    def _method(self, name: str) -> Any:
        """The bound method a call names, or one of the methods every actor has."""
        if name == "__ray_ready__":
            return lambda: True
        if name == "__ray_call__":
            return lambda fn, *args, **kwargs: fn(self.instance, *args, **kwargs)
        if name == "__ray_terminate__":
            def terminate() -> None:
                raise ExitActor()

            return terminate
        bound = self.methods.get(name)
        if bound is None:
            # The class's method, as in Ray, even where an instance attribute shadows it.
            cls = type(self.instance)
            raw = inspect.getattr_static(cls, name, None)
            if raw is not None and hasattr(raw, "__get__") and callable(
                    getattr(cls, name, None)):
                bound = self.methods[name] = raw.__get__(self.instance, cls)
            else:
                return getattr(self.instance, name)
        return bound

    def _function_name(self, spec: TaskSpec | ActorSpec) -> str:
        """Ray's task function name: module.function, or module.Class.method (looked up
        once per function or method)."""
        key = spec.method if isinstance(spec, TaskSpec) and spec.actor_id else spec.fn_id
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = self._find_function_name(spec)
        return name

    def _find_function_name(self, spec: TaskSpec | ActorSpec) -> str:
        if self.instance is not None and isinstance(spec, TaskSpec) and spec.actor_id:
            cls = type(self.instance)
            method = getattr(cls, spec.method, None)
            if inspect.iscoroutinefunction(method):  # Ray names these by qualified name
                return f"{cls.__module__}.{method.__qualname__}"
            return f"{cls.__module__}.{cls.__name__}.{spec.method}"
        try:
            fn = self._function(spec)
        except Exception:  # noqa: BLE001 - reported when the task runs
            return spec.name or ""
        if isinstance(fn, type):  # the actor's constructor
            return f"{fn.__module__}.{fn.__name__}.__init__"
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__name__', '')}"

    def _args(self, spec: TaskSpec | ActorSpec) -> tuple[tuple, dict]:
        values = []
        for oid, p in zip(spec.deps or [], spec.dep_payloads or [], strict=True):
            value, is_error = self.client.decode(oid, p)
            if is_error:
                raise value
            values.append(value)
        return argpack.unpack(spec.args, values)

    def encode(self, oid: bytes, value: Any) -> tuple:
        ser = serialization.serialize(value)
        if ser.size <= INLINE_MAX:
            return ("i", ser.to_bytes(), ser.contained)
        self.client.write_to_store(oid, ser)
        return ("s", ser.size, ser.contained)

    def _error(self, spec: TaskSpec | ActorSpec, e: BaseException,
               name: str | None = None) -> tuple[bytes, bool]:
        """Serialize a task's exception; also say whether retry_exceptions covers it."""
        name = name or spec.name or "task"
        asyncio = sys.modules.get("asyncio")
        if asyncio is not None and isinstance(e, asyncio.CancelledError):
            err: BaseException = TaskCancelledError(spec.task_id.hex())
            return serialization.serialize_error(err).to_bytes(), False
        if isinstance(e, KeyboardInterrupt):  # cancelled while running: as Ray reports it
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            err = RayTaskError(name, tb, TaskCancelledError(spec.task_id.hex()),
                               pid=os.getpid())
            return serialization.serialize_error(err).to_bytes(), False
        if isinstance(e, RayTaskError):
            err = e
        else:
            tb = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next
                                                    if e.__traceback__ else None))
            cause = e
            try:
                pickle.loads(serialization.dumps_function(e))
            except Exception:  # noqa: BLE001 - an unpicklable exception keeps its message
                cause = RuntimeError(f"{type(e).__name__}: {e}")
            err = RayTaskError(name, tb, cause, pid=os.getpid())
        retry = spec.retry_exceptions if isinstance(spec, TaskSpec) else False
        retryable = False
        if retry is True:
            retryable = True
        elif isinstance(retry, bytes):
            retryable = isinstance(e, tuple(pickle.loads(retry)))
        return serialization.serialize_error(err).to_bytes(), retryable

    def _results(self, spec: TaskSpec, value: Any) -> list:
        n = spec.num_returns
        tid = spec.task_id
        if spec.dynamic:
            # Its refs live until "done" is sent, so their holder is not dropped first.
            value = self.keep[tid] = self._dynamic(spec, value)
        if n == 1:
            return [self.encode(ids.return_id(tid, 0), value)]
        if n == 0:
            return []
        if inspect.isgenerator(value):
            # As in Ray: take n values; if the generator raises after some, the returns
            # it did not reach hold the error, and one that yields more is not read on.
            items: list = []
            try:
                for item in value:
                    items.append(item)
                    if len(items) == n:
                        break
            except Exception as e:  # noqa: BLE001 - stored in the missing returns
                if not items:
                    raise
                err, _ = self._error(spec, e)
                return [self.encode(ids.return_id(tid, i), v) for i, v in enumerate(items)] \
                    + [("i", err, [])] * (n - len(items))
            value = items
        if not isinstance(value, tuple | list) or len(value) != n:
            got = len(value) if isinstance(value, tuple | list) else type(value).__name__
            raise ValueError(f"Task {spec.name!r} declared num_returns={n} but "
                             f"returned {got} values.")
        return [self.encode(ids.return_id(tid, i), v) for i, v in enumerate(value)]

    def _dynamic(self, spec: TaskSpec, gen: Any) -> Any:
        """Put each value a `num_returns="dynamic"` task yields in the store; its one
        return is the list of their refs (the last holds the error if it raised)."""
        from ember._object_ref import DynamicObjectRefGenerator, ObjectRef

        refs: list = []
        try:
            for item in gen:
                refs.append(ObjectRef(self.client.put(item), _announce=False))
        except Exception as e:  # noqa: BLE001 - the last ref holds it, as in Ray
            err, _ = self._error(spec, e)
            oid = ids.new_put_id()
            self.client.put_serialized(oid, serialization.Serialized(err[0], err[1:], [], []))
            refs.append(ObjectRef(oid, _announce=False))
        return DynamicObjectRefGenerator(refs)

    def _stream(self, spec: TaskSpec, gen: Any) -> None:
        tid = spec.task_id
        for i, item in enumerate(gen, 1):
            self.client.send(messages.GeneratorItem(tid, i, self.encode(ids.return_id(tid, i), item)))

    def _set_ctx(self, spec: TaskSpec | ActorSpec) -> dict:
        gpu_ids = spec.gpu_ids
        if gpu_ids:
            os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpu_ids))
            self.set_gpus = True
            self.actor_gpus = isinstance(spec, ActorSpec)
        elif self.hide_gpus and not self.actor_gpus:
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
            self.set_gpus = True
        elif self.set_gpus and self.actor_id is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)  # not for this task
            self.set_gpus = False
        actor = self.client.actor_ctx
        self.client.idle_title = None
        procutil.set_title(f"ray::{spec.name or 'task'}")  # Ray's process title
        resources = spec.resources or actor.get("resources") or {}
        if not self.omp_fixed:
            omp = str(max(1, int(resources.get("CPU", 1))))
            if omp != self.omp:
                os.environ["OMP_NUM_THREADS"] = self.omp = omp
        ctx = {
            "task_id": spec.task_id, "actor_id": self.actor_id,
            "resources": resources,
            "name": spec.name, "pg": spec.pg or actor.get("pg"),
            "pg_capture": spec.pg_capture or actor.get("pg_capture"),
            "actor_name": self.registered_name,
            "namespace": spec.namespace if isinstance(spec, TaskSpec) and not spec.actor_id
            else actor.get("namespace", ""),
            "function_name": self._function_name(spec),
            "restarted": actor.get("restarted", False),
        }
        context.task_ctx.set(ctx)
        if not self.actor_id:  # the ids this task makes carry its job (an actor's: its own)
            ids.set_job(ids.job_of(spec.task_id))
        return ctx

    def _cancelled_before_start(self, spec: TaskSpec | ActorSpec) -> bool:
        """Report a call cancelled before it started (it never runs); False if it was not."""
        c = self.client
        tid = spec.task_id
        if not c.early_cancels or tid not in c.early_cancels:
            return False
        c.early_cancels.discard(tid)
        if spec.fn_bytes is not None:  # sent once per worker: the next call of it will not carry it
            try:
                self._function(spec)
            except Exception:  # noqa: BLE001 - reported by the call that runs it
                pass
        err = serialization.serialize_error(TaskCancelledError(tid.hex())).to_bytes()
        n = spec.num_returns if isinstance(spec, TaskSpec) else 1
        results = [] if n == 0 else [("i", err, [])] * (1 if n == STREAMING else n)
        c.send(messages.TaskDone(tid, results, False, (time.time(), time.time())))
        return True

    # -- plain tasks and sync actors (main thread) -------------------------------------

    def execute(self, kind: str, spec: TaskSpec | ActorSpec) -> None:
        if isinstance(spec, ActorSpec):  # kind "actor_init"
            self._init_actor(spec)
            return
        self._run_sync(spec, kind == "actor_task")

    def _run_sync(self, spec: TaskSpec, is_actor: bool) -> None:
        c = self.client
        if self._cancelled_before_start(spec):
            return
        started = time.time()  # for the state API and the timeline
        tid = spec.task_id
        c.running[tid] = self._set_ctx(spec)
        retryable = False
        on_main = threading.current_thread() is threading.main_thread()
        if on_main and not is_actor:  # a plain task: ember.cancel interrupts it
            c.main_task = tid
        a: Any = ()
        k: Any = {}
        try:
            a, k = self._args(spec)
            fn = self._method(spec.method) if is_actor else self._function(spec)
            if on_main:
                c.in_user_code = True
            try:
                if c.cancel_pending:  # cancelled while its arguments were read
                    c._interrupt_if_cancelled()
                value = fn(*a, **k)
                if inspect.iscoroutine(value):
                    import asyncio

                    value = asyncio.run(value)
                if spec.num_returns == STREAMING:
                    self._stream(spec, value)
                    results: list = []
                else:
                    results = self._results(spec, value)
            finally:
                if on_main:
                    c.in_user_code = False
        except ExitActor:
            self._exit_actor()
            return
        except BaseException as e:  # noqa: BLE001 - reported to the caller
            err, retryable = self._error(spec, e)
            n = spec.num_returns
            results = [("i", err, [])] * (1 if n == STREAMING else max(n, 1))
            if n == 0:
                results = []
        finally:
            context.task_ctx.set(None)
            c.running.pop(tid, None)
            if on_main and not is_actor:
                c.main_task = None
                c.cancel_pending = c.cancel_raised = False
        # Drop the arguments first, so that their unpins travel ahead of "done": the node
        # may need their room in the store for the next task's arguments.
        a = k = None
        c.send(messages.TaskDone(spec.task_id, results, retryable, (started, time.time())))
        self.keep.pop(spec.task_id, None)
        # Shown once the worker has waited a moment for more work (WorkerClient._recv):
        # a worker that runs the same function back to back keeps its title.
        c.idle_title = (f"ray::{self.actor_name.rsplit('.', 1)[-1]}" if self.actor_name
                        else IDLE_TITLE)
        _flush_std()

    # -- actors -----------------------------------------------------------------------

    def _init_actor(self, spec: ActorSpec) -> None:
        c = self.client
        self.actor_id = spec.actor_id
        ids.set_job(ids.job_of(spec.actor_id))
        self.actor_name = spec.class_name
        self.registered_name = spec.name or ""
        self.client.actor_meta = spec.meta  # for get_runtime_context().current_actor
        # What holds for every call of this actor, and for threads its methods start.
        self.client.actor_ctx = {"actor_id": spec.actor_id,
                                 "actor_name": self.registered_name,
                                 "namespace": spec.job_namespace,
                                 "resources": spec.resources or {},
                                 "pg": spec.pg, "pg_capture": spec.pg_capture,
                                 "restarted": spec.num_restarts > 0}
        self._set_ctx(spec)  # the constructor's task id is the actor's
        procutil.set_title(f"ray::{self.actor_name.rsplit('.', 1)[-1]}")
        try:
            cls = self._function(spec)
            is_async = _has_async_methods(cls)
            groups = spec.concurrency_groups or {}
            empty = sorted(g for g, n in groups.items() if n < 1)
            if empty:
                raise ValueError(f"Concurrency group(s) {', '.join(empty)}: "
                                 "max_concurrency must be greater than 0.")
            max_conc = spec.max_concurrency or (1000 if is_async else 1)
            # Made before the instance (its constructor sees the default group's loop),
            # used only once it exists.
            executor: Any = None
            if is_async:
                executor = AsyncExecutor(self, max_conc, groups)
            elif max_conc > 1 or groups:
                executor = ThreadExecutor(self, max_conc, groups)
            a, k = self._args(spec)
            c.in_user_code = True
            try:
                self.methods.clear()
                self.names.clear()
                if is_async and inspect.iscoroutinefunction(getattr(cls, "__init__", None)):
                    # `async def __init__` runs on the actor's default loop, as in Ray.
                    import asyncio

                    self.instance = cls.__new__(cls)
                    asyncio.run_coroutine_threadsafe(self.instance.__init__(*a, **k),
                                                     executor.loop).result()
                else:
                    self.instance = cls(*a, **k)
            finally:
                c.in_user_code = False
        except BaseException as e:  # noqa: BLE001
            err, _ = self._error(spec, e, f"{self.actor_name}.__init__")
            c.send(messages.ActorFailed(spec.actor_id, err))
            return
        finally:
            context.task_ctx.set(None)
        c.executor = executor
        c.send(messages.ActorReady(spec.actor_id, {"pid": os.getpid()}))
        if c.executor is not None:
            pending = [s for kind, s in c.work if kind == "actor_task"]
            c.work.clear()
            for s in pending:
                c.executor.submit(s)

    def _exit_actor(self) -> None:
        """Leave gracefully (exit_actor, __ray_terminate__): the actor's atexit handlers
        run, as in Ray, then the process exits."""
        import atexit

        self.client.send(messages.ActorExit(self.actor_id or b""))
        try:
            atexit._run_exitfuncs()
        finally:
            _flush_std()
            os._exit(0)


class ThreadExecutor:
    """Runs actor calls on a pool per concurrency group (max_concurrency for the default)."""

    def __init__(self, runner: Runner, max_conc: int, groups: dict[str, int]) -> None:
        from ember._core.worker.call_pool import CallPool

        self.runner = runner
        self.pools = {"": CallPool(max_conc, "ember-actor"),
                      SYSTEM_GROUP: CallPool(1, "ember-system")}
        for name, n in groups.items():
            self.pools[name] = CallPool(n, f"ember-{name}")

    def submit(self, spec: TaskSpec) -> None:
        pool = self.pools.get(spec.concurrency_group or "", self.pools[""])
        pool.submit(self.runner._run_sync, spec, True)

    def cancel(self, task_id: bytes) -> None:
        pass


class AsyncExecutor:
    """Runs an async actor's calls: each concurrency group has its own event loop on its
    own thread (the default group too), so a call that blocks one group's loop never
    holds up another group; each group admits at most its limit of calls at once. Sync
    methods of an async actor run on their group's loop, as in Ray."""

    def __init__(self, runner: Runner, max_conc: int, groups: dict[str, int]) -> None:
        import asyncio

        self.runner = runner
        self.tasks: dict[bytes, tuple[Any, Any]] = {}
        self.limits = {"": max_conc, SYSTEM_GROUP: 1, **groups}
        self.loops: dict[str, Any] = {}
        self.sems: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.loop = self._loop_for("")
        # The constructor (on the main thread) sees the default group's loop as its
        # event loop, as Ray arranges it.
        asyncio.set_event_loop(self.loop)

    def _loop_for(self, group: str) -> Any:
        import asyncio

        with self._lock:
            loop = self.loops.get(group)
            if loop is None:
                loop = self.loops[group] = asyncio.new_event_loop()
                threading.Thread(target=self._run_loop, args=(loop,), daemon=True,
                                 name=f"ember-async-actor{'-' + group if group else ''}"
                                 ).start()
            return loop

    @staticmethod
    def _run_loop(loop: Any) -> None:
        """Keep the loop running even if a stray task raises SystemExit/KeyboardInterrupt."""
        import asyncio

        asyncio.set_event_loop(loop)
        while True:
            try:
                loop.run_forever()
                return
            except (SystemExit, KeyboardInterrupt) as e:
                print(f"ember: an actor task raised {type(e).__name__}; the actor goes on",
                      file=sys.stderr)

    def submit(self, spec: TaskSpec) -> None:
        group = spec.concurrency_group or ""
        if group not in self.limits:
            group = ""
        loop = self._loop_for(group)
        loop.call_soon_threadsafe(self._start, spec, group, loop)

    def _start(self, spec: TaskSpec, group: str, loop: Any) -> None:
        t = loop.create_task(self._run(spec, group))
        self.tasks[spec.task_id] = (t, loop)
        t.add_done_callback(lambda _t: self.tasks.pop(spec.task_id, None))

    def cancel(self, task_id: bytes) -> None:
        entry = self.tasks.get(task_id)
        if entry is not None:
            t, loop = entry
            loop.call_soon_threadsafe(t.cancel)

    async def _run(self, spec: TaskSpec, group: str) -> None:
        import asyncio

        r = self.runner
        sem = self.sems.get(group)
        if sem is None:
            sem = self.sems[group] = asyncio.Semaphore(self.limits[group])
        retryable = False
        async with sem:
            if r._cancelled_before_start(spec):
                return
            started = time.time()
            r.client.running[spec.task_id] = r._set_ctx(spec)
            try:
                a, k = r._args(spec)
                value = r._method(spec.method)(*a, **k)
                if inspect.isawaitable(value):
                    value = await value
                if spec.num_returns == STREAMING:
                    if inspect.isasyncgen(value):
                        tid = spec.task_id
                        i = 0
                        async for item in value:
                            i += 1
                            r.client.send(messages.GeneratorItem(tid, i, r.encode(ids.return_id(tid, i), item)))
                    else:
                        r._stream(spec, value)
                    results: list = []
                else:
                    results = r._results(spec, value)
            except ExitActor:
                r._exit_actor()
                return
            except BaseException as e:  # noqa: BLE001
                err, retryable = r._error(spec, e)
                n = spec.num_returns
                results = [] if n == 0 else [("i", err, [])] * (1 if n == STREAMING else n)
            finally:
                r.client.running.pop(spec.task_id, None)
            r.client.send(messages.TaskDone(spec.task_id, results, retryable,
                                            (started, time.time())))
            r.keep.pop(spec.task_id, None)


def _has_async_methods(cls: type) -> bool:
    for _, member in inspect.getmembers(cls):
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            return True
    return False


def _flush_std() -> None:
    import sys

    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except (OSError, ValueError):
            pass
