"""Remote functions: `@ember.remote def f(...)`, then `f.remote(...)` runs it as a task."""

from __future__ import annotations

import functools
import os
from typing import Any

from ember import _options, _signature
from ember._core.caller import args as argpack
from ember._core.caller import context
from ember._core.common import ids, serialization
from ember._core.common.constants import STREAMING
from ember._core.common.specs import TaskSpec
from ember._object_ref import ObjectRef, ObjectRefGenerator


def put_serialized_ref(ser: serialization.Serialized) -> ObjectRef:
    """Put an already serialized argument (large task arguments go through the store)."""
    oid = ids.new_put_id()
    context.require_client().put_serialized(oid, ser)
    return ObjectRef(oid, _announce=False)


def submit_refs(task_id: bytes, n: int) -> Any:
    """The caller's view of a task's returns: one ref, a list, None, or a generator."""
    if n == STREAMING:
        return ObjectRefGenerator(task_id)
    if n == 1:
        return ObjectRef(ids.return_id(task_id, 0), _announce=False)
    if n == 0:
        return None
    return [ObjectRef(ids.return_id(task_id, i), _announce=False) for i in range(n)]


class RemoteFunction:
    """A function that runs as a task; call `.remote()` (or `.options(...).remote()`)."""

    def __init__(self, fn: Any, options: dict) -> None:
        _options.check(options, _options.TASK_OPTIONS, f"remote function {fn.__qualname__!r}")
        self._function = fn
        self._default_options = options
        self._fn_id = os.urandom(16)
        self._fn_bytes: bytes | None = None
        self._sent: set[int] = set()
        functools.update_wrapper(self, fn)
        self._shape = _signature.shape_of(fn)
        self._base = self._template(options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self._function.__name__
        raise TypeError(f"Remote functions cannot be called directly. Instead of running "
                        f"'{name}()', try '{name}.remote()'.")

    def __reduce__(self) -> Any:
        return (RemoteFunction, (self._function, self._default_options))

    def _template(self, options: dict) -> TaskSpec:
        from ember._core.common import runtime_env as renv

        pg, affinity, strategy = _options.placement(options)
        n = _options.num_returns(options)
        if n == 1 and _is_generator(self._function) and "num_returns" not in options:
            n = STREAMING
        env = _options.runtime_env(options, None)
        return TaskSpec(
            fn_id=self._fn_id,
            name=_options.text(options, "name") or self._function.__qualname__,
            num_returns=n,
            resources=_options.resources(options, 1.0),
            max_retries=_options.count(options, "max_retries", _options.DEFAULT_MAX_RETRIES),
            max_calls=_options.max_calls(options),
            retry_exceptions=_options.retry_exceptions(options),
            runtime_env=env,
            env_key=renv.env_key(env),
            pg=pg,
            pg_capture=_options.capture_child_tasks(options),
            affinity=affinity,
            strategy=strategy,
            labels=_options.labels(options),
            dynamic=_options.dynamic(options),
            pg_opt_out=_options.pg_opt_out(options),
        )

    def options(self, **options: Any) -> _BoundFunction:
        _options.check(options, _options.TASK_OPTIONS,
                       f"remote function {self._function.__qualname__!r}")
        merged = {**self._default_options, **options}
        return _BoundFunction(self, self._template(merged))

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._submit(self._base, args, kwargs)

    def _remote(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Ray's older spelling: `.options(**options).remote(*args, **kwargs)`."""
        target = self.options(**options) if options else self
        return target.remote(*(args or ()), **(kwargs or {}))

    def _submit(self, template: TaskSpec, args: tuple, kwargs: dict) -> Any:
        client = context.require_client()
        _signature.check(self._shape, args, kwargs)
        blob, deps, contained, keep = argpack.pack(args, kwargs, ObjectRef, put_serialized_ref)
        task_id = ids.new_task_id()
        spec = template.call(task_id, blob, deps, contained)
        if spec.runtime_env is None and client.job_runtime_env:  # init(runtime_env=...)
            spec.runtime_env, spec.env_key = client.job_runtime_env, client.job_env_key
        _options.inherit_placement(spec, client.task_context())
        key = client.number
        if key not in self._sent:
            if self._fn_bytes is None:
                self._fn_bytes = serialization.dumps_function(self._function)
            spec.fn_bytes = self._fn_bytes
        client.submit("submit_task", spec)
        self._sent.add(key)
        del keep
        return submit_refs(task_id, template.num_returns)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A node of a task graph (ember.dag): the call happens at `execute()`."""
        from ember.dag import FunctionNode

        return FunctionNode(self, args, kwargs)


class _BoundFunction:
    """The result of `.options(...)`: a remote function with overridden options."""

    def __init__(self, rf: RemoteFunction, template: TaskSpec) -> None:
        self._rf = rf
        self._template = template

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._rf._submit(self._template, args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        from ember.dag import FunctionNode

        return FunctionNode(self, args, kwargs)


def _is_generator(fn: Any) -> bool:
    import inspect

    return inspect.isgeneratorfunction(fn)
