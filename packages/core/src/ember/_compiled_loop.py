"""The actor side of a compiled graph: the plan each actor receives once, and the loop
that runs it (read inputs from channels, call the methods, write outputs).

The driver starts the loop through the actor's built-in `__ray_call__` in Ray's system
concurrency group, so it starts even while the actor is busy; the loop then runs on a
thread of its own, and the actor keeps serving ordinary calls.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any

from ember.experimental.channel import (
    ChannelClosed,
    ChannelReader,
    ChannelSpec,
    ChannelWriter,
    PeerDied,
    close_channel,
)

__all__ = ["ActorPlan", "ArgSource", "CompiledDAGArgs", "ERROR", "TaskPlan", "VALUE",
           "dumps", "select_input", "start"]

VALUE = 0  # message kinds
ERROR = 1


@dataclass(frozen=True, slots=True)
class CompiledDAGArgs:
    """Several inputs of one `execute(*args, **kwargs)`."""

    args: tuple
    kwargs: dict


@dataclass(frozen=True, slots=True)
class ArgSource:
    """Where one argument of a task comes from: a constant bound once (`const`), the
    graph's input (`input`, with an optional key: `inp[0]`, `inp.x`), or another task's
    result (`task`)."""

    kind: str
    value: Any = None
    key: Any = None
    how: str = ""
    task: int = -1


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """One method call of the graph on this actor."""

    index: int
    method: str
    name: str
    args: tuple[ArgSource, ...]
    kwargs: tuple[tuple[str, ArgSource], ...]
    outputs: tuple[ChannelSpec, ...]


@dataclass(frozen=True, slots=True)
class ActorPlan:
    """What one actor runs per execution, in order, and the channels it reads."""

    tasks: tuple[TaskPlan, ...]
    input: ChannelSpec | None
    upstream: tuple[tuple[int, ChannelSpec], ...]
    driver_pid: int
    spin_s: float = 0.0  # how long a read watches the channel before it sleeps


def dumps(value: Any) -> bytes:
    """Pickle (protocol 5), falling back to cloudpickle for what pickle refuses."""
    try:
        return pickle.dumps(value, protocol=5)
    except Exception:  # noqa: BLE001 - lambdas, local classes …
        import cloudpickle

        return cloudpickle.dumps(value, protocol=5)


def select_input(value: Any, key: Any, how: str) -> Any:
    """The part of `execute`'s input an InputNode / InputAttributeNode stands for."""
    if key is None:
        return value
    if isinstance(value, CompiledDAGArgs):
        return value.args[key] if isinstance(key, int) else value.kwargs[key]
    return getattr(value, key) if how == "attr" else value[key]


def start(instance: Any, plan: ActorPlan) -> int:
    """Run inside the actor (via `__ray_call__`): open the channels now, so that a bad
    plan fails the compile, then loop on a thread. Returns the actor's pid."""
    loop = _Loop(instance, plan)
    threading.Thread(target=loop.run, daemon=True, name="ember-cgraph").start()
    return os.getpid()


def _positions(task: TaskPlan) -> tuple[int, ...] | None:
    """A task's arguments as positions (see `_Loop.simple`), or None if any is a
    constant, a part of the input or a keyword argument."""
    if task.kwargs:
        return None
    out = []
    for src in task.args:
        if src.kind == "input" and src.key is None:
            out.append(-1)
        elif src.kind == "task":
            out.append(src.task)
        else:
            return None
    return tuple(out)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


class _Loop:
    def __init__(self, instance: Any, plan: ActorPlan) -> None:
        self.plan = plan
        self.methods = [getattr(instance, t.method) for t in plan.tasks]
        self.driver_fd = _pidfd(plan.driver_pid)
        watch = () if self.driver_fd is None else (self.driver_fd,)
        self.readers: dict[int, ChannelReader] = {}
        self.input: ChannelReader | None = None
        self.writers: list[list[ChannelWriter]] = []
        try:
            if plan.input is not None:  # only this read watches the driver (see run)
                self.input = ChannelReader(plan.input, watch, plan.spin_s)
            for index, spec in plan.upstream:
                self.readers[index] = ChannelReader(spec, spin_s=plan.spin_s)
            self.writers = [[ChannelWriter(s) for s in t.outputs] for t in plan.tasks]
        except BaseException:
            self.close()
            raise
        self.aloop: Any = None
        # Per task: its arguments as positions (-1: the whole input; n >= 0: task n's
        # result) when that is all they are (the common case, read without the general
        # path), else None.
        self.simple: list[tuple[int, ...] | None] = [_positions(t) for t in plan.tasks]

    def run(self) -> None:
        try:
            while True:
                self.step()
        except ChannelClosed:
            pass
        except PeerDied:
            # The driver died. Only input reads watch it, so close every channel of
            # ours: that wakes and ends the loops downstream, which block in plain reads.
            plan = self.plan
            for spec in [plan.input, *(s for _, s in plan.upstream),
                         *(s for t in plan.tasks for s in t.outputs)]:
                if spec is not None:
                    close_channel(spec)
            if plan.input is not None:  # the driver cannot remove them any more
                shutil.rmtree(os.path.dirname(plan.input.path), ignore_errors=True)
        except BaseException:  # noqa: BLE001 - a loop bug must not pass silently
            print("ember: compiled graph loop failed:\n" + traceback.format_exc(),
                  file=sys.stderr)
        finally:
            self.close()

    def step(self) -> None:
        """One execution: every task of this actor once, in the graph's order."""
        results: dict[int, tuple[int, Any]] = {}
        inp: list[Any] = []
        if self.input is not None:  # also what starts an execution of constant-only calls
            inp.append(pickle.loads(self.input.read()[1]))
        for task, method, writers, simple in zip(self.plan.tasks, self.methods,
                                                 self.writers, self.simple, strict=True):
            failed: bytes | None = None
            kwargs: dict = {}
            if simple is not None:
                args = []
                for src in simple:
                    if src < 0:
                        args.append(inp[0])
                        continue
                    got = results.get(src)
                    if got is None:
                        got = self._upstream(src, results)
                    if got[0] == ERROR and failed is None:
                        failed = got[1]
                    args.append(got[1])
            else:
                try:
                    args, kwargs, failed = self._args(task, results, inp)
                except (ChannelClosed, PeerDied):
                    raise
                except Exception as e:  # noqa: BLE001 - e.g. inp[3] with two inputs
                    args, failed = [], self._error(task, e)
            if failed is not None:  # an upstream task raised: pass its error on
                kind, value = ERROR, failed
            else:
                kind, value = self._call(task, method, args, kwargs)
            payload = value if kind == ERROR else dumps(value)
            results[task.index] = (kind, value)
            for w in writers:
                w.write(kind, payload)

    def _upstream(self, index: int, results: dict) -> tuple[int, Any]:
        """Read task `index`'s result from its channel (once per execution)."""
        kind, payload = self.readers[index].read()
        got = results[index] = (kind, payload if kind == ERROR else pickle.loads(payload))
        return got

    def _args(self, task: TaskPlan, results: dict, inp: list
              ) -> tuple[list, dict, bytes | None]:
        """The call's arguments, and the first upstream error among them, if any."""
        failed: bytes | None = None
        args = []
        for src in task.args:
            kind, v = self._arg(src, results, inp)
            if kind == ERROR and failed is None:
                failed = v
            args.append(v)
        kwargs = {}
        for name, src in task.kwargs:
            kind, v = self._arg(src, results, inp)
            if kind == ERROR and failed is None:
                failed = v
            kwargs[name] = v
        return args, kwargs, failed

    def _arg(self, src: ArgSource, results: dict, inp: list) -> tuple[int, Any]:
        if src.kind == "const":
            return VALUE, src.value
        if src.kind == "input":
            return VALUE, select_input(inp[0], src.key, src.how)
        got = results.get(src.task)
        if got is None:
            got = self._upstream(src.task, results)
        return got

    def _call(self, task: TaskPlan, method: Any, args: list, kwargs: dict
              ) -> tuple[int, Any]:
        try:
            value = method(*args, **kwargs) if kwargs else method(*args)
            if hasattr(value, "__await__"):
                import asyncio

                if self.aloop is None:
                    self.aloop = asyncio.new_event_loop()
                value = self.aloop.run_until_complete(value)
            return VALUE, value
        except Exception as e:  # noqa: BLE001 - returned to the driver as RayTaskError
            return ERROR, self._error(task, e)

    @staticmethod
    def _error(task: TaskPlan, e: Exception) -> bytes:
        """The pickled RayTaskError for an exception raised running `task`."""
        from ember.exceptions import RayTaskError

        err = RayTaskError(task.name, traceback.format_exc(), e, "", os.getpid())
        try:
            return dumps(err)
        except Exception:  # noqa: BLE001 - the cause itself cannot be pickled
            return dumps(RayTaskError(task.name, err.traceback_str, None, "", os.getpid()))

    def close(self) -> None:
        ends: list[Any] = [self.input, *self.readers.values()]
        ends += [w for ws in self.writers for w in ws]
        for end in ends:
            if end is not None:
                end.close()
        if self.driver_fd is not None:
            os.close(self.driver_fd)
            self.driver_fd = None
        if self.aloop is not None:
            self.aloop.close()


