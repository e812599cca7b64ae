"""Actors: `@ember.remote class C`, `C.remote(...)` → ActorHandle, `h.m.remote(...)`."""

from __future__ import annotations

import functools
import inspect
import logging
import os
from typing import Any

from ember import _options, _signature
from ember._core.caller import args as argpack
from ember._core.caller import context
from ember._core.common import ids, refs, serialization
from ember._core.common.constants import STREAMING
from ember._core.common.ids import handle_id
from ember._core.common.specs import ActorSpec, TaskSpec
from ember._object_ref import ObjectRef
from ember._remote_function import put_serialized_ref, submit_refs
from ember.ids import ActorID

_log = logging.getLogger("ember")

__all__ = ["ActorClass", "ActorClassInheritanceException", "ActorHandle", "ActorMethod",
           "exit_actor", "method"]


class ActorClassInheritanceException(TypeError):
    """Raised when a class derives from an actor class (derive from the plain class and
    decorate the subclass instead)."""

_METHOD_ATTR = "__ember_method_options__"
# Methods every actor has, as in Ray: readiness, running a function on the instance, and a
# graceful exit.
_BUILTIN_METHODS = ("__ray_ready__", "__ray_call__", "__ray_terminate__")


def method(**options: Any) -> Any:
    """Decorate an actor method with defaults: num_returns, concurrency_group, …"""
    _options.check(options, _options.METHOD_OPTIONS, "an actor method")

    def wrap(fn: Any) -> Any:
        setattr(fn, _METHOD_ATTR, options)
        return fn

    return wrap


def _method_meta(cls: type) -> dict[str, dict]:
    meta: dict[str, dict] = {}
    for name, member in inspect.getmembers(cls):
        if not callable(member) or (name.startswith("__") and name != "__call__"):
            continue
        opts = dict(getattr(member, _METHOD_ATTR, {}))
        n = opts.get("num_returns", 1)
        if n == "streaming" or ("num_returns" not in opts and (
                inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member))):
            n = STREAMING
        opts["num_returns"] = n
        static = isinstance(inspect.getattr_static(cls, name, None), staticmethod)
        opts["signature"] = _signature.shape_of(member, drop_first=not static and not
                                                inspect.ismethod(member))
        meta[name] = opts
    return meta


class ActorClass:
    """A class turned into an actor factory by `@ember.remote`."""

    def __mro_entries__(self, bases: tuple) -> tuple:
        raise ActorClassInheritanceException(
            "Inheriting from actor classes is not currently supported. Derive from the "
            f"plain class "
            f"{self.__qualname__!r} and apply @ember.remote to the subclass.")

    def __getattr__(self, name: str) -> Any:
        """Class attributes (constants, static and class methods) read through, as in Ray:
        methods may refer to their class by its decorated name."""
        if name.startswith("__") or "_cls" not in self.__dict__:
            raise AttributeError(name)
        value = getattr(self.__dict__["_cls"], name)
        if callable(value):
            # A fresh wrapper, never the function itself: cloudpickle looks functions up
            # by qualified name (Class.method) and would otherwise pickle the class's
            # methods by reference to their module, which other nodes may not import.
            return functools.partial(value)
        return value

    def __dir__(self) -> list[str]:
        """The factory's own names and the class's methods and attributes, as in Ray."""
        return sorted(set(super().__dir__()) | {
            n for n in dir(self.__dict__["_cls"]) if not n.startswith("__")})

    @property
    def __ray_metadata__(self) -> Any:
        """Ray's metadata record: class_name as the state API reports it."""
        import types

        return types.SimpleNamespace(class_name=self._meta["class_name"],
                                     modified_class=self._cls)

    def __init__(self, cls: type, options: dict) -> None:
        _options.check(options, _options.ACTOR_OPTIONS, f"actor class {cls.__qualname__!r}")
        _options.labels(options)  # label errors show where the class is declared
        self._cls = cls
        self._default_options = options
        self._fn_id = os.urandom(16)
        self._fn_bytes: bytes | None = None
        self._meta = {"class_name": cls.__qualname__, "methods": _method_meta(cls)}
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__doc__ = cls.__doc__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = self._cls.__name__
        raise TypeError(f"Actors cannot be instantiated directly. Instead of '{name}()', "
                        f"use '{name}.remote()'.")

    def __reduce__(self) -> Any:
        return (ActorClass, (self._cls, self._default_options))

    def _remote(self, args: Any = None, kwargs: Any = None, **options: Any) -> ActorHandle:
        """Ray's older spelling: `.options(**options).remote(*args, **kwargs)`."""
        target = self.options(**options) if options else self
        return target.remote(*(args or ()), **(kwargs or {}))

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle:
        return self._create(self._default_options, args, kwargs)

    def options(self, **options: Any) -> _BoundActorClass:
        _options.check(options, _options.ACTOR_OPTIONS, f"actor class {self.__qualname__!r}")
        return _BoundActorClass(self, {**self._default_options, **options})

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A node of a task graph (ember.dag): the actor is created at `execute()`."""
        from ember.dag import ClassNode

        return ClassNode(self, args, kwargs)

    def _create(self, options: dict, args: tuple, kwargs: dict) -> ActorHandle:
        client = context.require_client()
        pg, affinity, strategy = _options.placement(options)
        lifetime = options.get("lifetime")
        if lifetime not in (None, "detached", "non_detached"):
            raise ValueError(f"lifetime must be 'detached' or 'non_detached', got {lifetime!r}.")
        max_conc = options.get("max_concurrency")
        if max_conc is not None and (not isinstance(max_conc, int) or max_conc < 1):
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_conc!r}.")
        groups = options.get("concurrency_groups") or {}
        if not isinstance(groups, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in groups.values()):
            raise ValueError("concurrency_groups must map group names to ints >= 1.")
        empty = sorted(g for g, v in groups.items() if v < 1)
        if empty:  # as in Ray: the call goes on, the actor never starts, the error is shown
            _log.error("Actor %s cannot start: concurrency group(s) %s: max_concurrency "
                       "must be greater than 0.", self._cls.__qualname__, ", ".join(empty))
        name = _options.text(options, "name")
        if name is not None and not name:
            raise ValueError("Actor name cannot be an empty string.")
        if _options.text(options, "namespace") == "":
            raise ValueError('"" is not a valid namespace. Pass None to not specify a '
                             "namespace.")
        if options.get("get_if_exists") and name is None:
            raise ValueError("The actor name must be specified to use `get_if_exists`.")
        from ember._core.common import runtime_env as renv

        env = _options.runtime_env(options, None) or client.job_runtime_env
        _signature.check(_signature.shape_of(self._cls.__init__, drop_first=True), args, kwargs)
        blob, deps, contained, keep = argpack.pack(args, kwargs, ObjectRef, put_serialized_ref)
        if self._fn_bytes is None:
            self._fn_bytes = serialization.dumps_function(self._cls, "actor")
        spec = ActorSpec(
            actor_id=ids.new_actor_id(), fn_id=self._fn_id, fn_bytes=self._fn_bytes,
            class_name=self._cls.__qualname__, args=blob, deps=deps,
            contained=contained, resources=_options.resources(options, 0.0),
            default_resources=all(options.get(k) is None for k in (
                "num_cpus", "num_gpus", "resources", "accelerator_type")),
            max_restarts=_options.count(options, "max_restarts", 0),
            max_task_retries=_options.count(options, "max_task_retries", 0),
            max_concurrency=max_conc, concurrency_groups=groups, name=name,
            namespace=_options.text(options, "namespace"), lifetime=lifetime,
            get_if_exists=_options.flag(options, "get_if_exists"), runtime_env=env,
            env_key=renv.env_key(env), pg=pg, affinity=affinity,
            strategy=strategy, meta=self._meta,
            pg_capture=_options.capture_child_tasks(options),
            labels=_options.labels(options),
            pg_opt_out=_options.pg_opt_out(options),
        )
        _options.inherit_placement(spec, client.task_context())
        info = client.call("create_actor", spec)
        del keep
        return ActorHandle(info["actor_id"], info.get("meta") or self._meta, _announce=False)


class _BoundActorClass:
    def __init__(self, ac: ActorClass, options: dict) -> None:
        self._ac = ac
        self._options = options

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle:
        return self._ac._create(self._options, args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        from ember.dag import ClassNode

        return ClassNode(self, args, kwargs)


class ActorHandle:
    """A reference to a running actor; pass it to tasks and other actors freely.

    A non-detached actor (named or not, as in Ray) is stopped once every handle to it
    is gone.
    """

    _is_weak = False

    def __init__(self, actor_id: bytes, meta: dict, _announce: bool = True) -> None:
        self._ember_actor_id = actor_id
        self._meta = meta
        self._templates: dict[str, TaskSpec] = {}  # per method; no ActorMethod cycle back to us
        refs.current.add(handle_id(actor_id), _announce)

    @classmethod
    def _weak(cls, actor_id: bytes, meta: dict) -> ActorHandle:
        """A handle that does not keep the actor alive, as Ray's handles from `get_actor`
        and `current_actor`; it stays weak when passed to other tasks and actors."""
        h = cls.__new__(cls)
        h._ember_actor_id = actor_id
        h._meta = meta
        h._templates = {}
        h._is_weak = True
        return h

    def __del__(self) -> None:
        if self._is_weak:
            return
        try:
            refs.current.remove(handle_id(self._ember_actor_id))
        except Exception:  # noqa: BLE001
            pass

    def __dir__(self) -> list[str]:
        """The actor's methods (what autocompletion offers), as in Ray."""
        return sorted({"__init__", *self._meta["methods"], *_BUILTIN_METHODS})

    def __getattr__(self, name: str) -> ActorMethod:
        if name in _BUILTIN_METHODS:
            return ActorMethod(self, name, ActorMethod._template(self, name, {}))
        if name.startswith("_") and name != "__call__":
            raise AttributeError(name)
        template = self._templates.get(name)
        if template is None:
            opts = self._meta["methods"].get(name)
            if opts is None:
                raise AttributeError(f"'{self._meta['class_name']}' actor has no method "
                                     f"{name!r}.")
            template = self._templates[name] = ActorMethod._template(self, name, opts)
        return ActorMethod(self, name, template)

    def __reduce__(self) -> Any:
        if self._is_weak:
            return (ActorHandle._weak, (self._ember_actor_id, self._meta))
        c = serialization.contained_collector()
        if c is not None:
            c.append(handle_id(self._ember_actor_id))
        return (ActorHandle, (self._ember_actor_id, self._meta))

    def __repr__(self) -> str:
        return f"Actor({self._meta['class_name']}, {self._ember_actor_id.hex()})"

    def __hash__(self) -> int:
        return hash(self._ember_actor_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorHandle) and other._ember_actor_id == self._ember_actor_id

    @property
    def _actor_id(self) -> ActorID:
        """The actor's id as Ray's handles have it (`.hex()`, `.job_id`)."""
        return ActorID(self._ember_actor_id)


class ActorMethod:
    """`handle.method`: call `.remote(...)` or `.options(num_returns=...).remote(...)`."""

    def __init__(self, handle: ActorHandle, name: str, template: TaskSpec) -> None:
        self._handle = handle
        self._name = name
        self._base = template

    @staticmethod
    def _template(handle: ActorHandle, name: str, options: dict) -> TaskSpec:
        n = options.get("num_returns", 1)
        n = STREAMING if n in ("streaming", STREAMING) else _options.num_returns(
            {"num_returns": n})
        return TaskSpec(
            actor_id=handle._ember_actor_id, method=name,
            name=(_options.text(options, "name")
                  or f"{handle._meta['class_name'].rsplit('.', 1)[-1]}.{name}"),
            num_returns=n,
            max_task_retries=(None if options.get("max_task_retries") is None
                              else _options.count(options, "max_task_retries", 0)),
            retry_exceptions=_options.retry_exceptions(options),
            concurrency_group=options.get("concurrency_group"),
            dynamic=_options.dynamic(options),
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Actor methods cannot be called directly. Instead of running "
                        f"'{self._name}()', try '{self._name}.remote()'.")

    def options(self, **options: Any) -> _BoundMethod:
        _options.check(options, _options.METHOD_OPTIONS, f"actor method {self._name!r}")
        base = self._handle._meta["methods"].get(self._name, {})
        return _BoundMethod(self, self._template(self._handle, self._name, {**base, **options}))

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._submit(self._base, args, kwargs)

    def _remote(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Ray's older spelling: `.options(**options).remote(*args, **kwargs)`."""
        target = self.options(**options) if options else self
        return target.remote(*(args or ()), **(kwargs or {}))

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A node of a task graph (ember.dag) calling this method at `execute()`."""
        from ember.dag import ClassMethodNode

        return ClassMethodNode(self._handle, self._name, args, kwargs)

    def _submit(self, template: TaskSpec, args: tuple, kwargs: dict) -> Any:
        client = context.require_client()
        method = self._handle._meta["methods"].get(self._name)
        if method is not None:
            _signature.check(method.get("signature"), args, kwargs)
        blob, deps, contained, keep = argpack.pack(args, kwargs, ObjectRef, put_serialized_ref)
        task_id = ids.new_task_id()
        client.submit("submit_actor_task", template.call(task_id, blob, deps, contained))
        del keep
        return submit_refs(task_id, template.num_returns)


class _BoundMethod:
    def __init__(self, m: ActorMethod, template: TaskSpec) -> None:
        self._m = m
        self._template = template

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return self._m._submit(self._template, args, kwargs)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        from ember.dag import ClassMethodNode

        return ClassMethodNode(self._m._handle, self._m._name, args, kwargs, bound=self)


def exit_actor() -> None:
    """Stop the current actor after this call; it is not restarted."""
    client = context.current_client()
    ctx = client.task_context() if client is not None else {}
    if not ctx.get("actor_id"):
        raise TypeError("exit_actor() may only be called from inside an actor method.")
    from ember._core.worker.execution import ExitActor

    raise ExitActor()
