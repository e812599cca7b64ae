"""What a caller asks a node to run: a task or an actor call (`TaskSpec`), or an actor
(`ActorSpec`). Built by the public API, read by the node and by the worker that runs it.

Each spec pickles as the tuple of its fields (`encode`/`decode`, used by `__reduce__`):
cheaper than a class's state dict, and the same on every socket (node ↔ worker,
node ↔ node).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# A placement group and bundle: (the group's id in hex, bundle index or -1 for any).
Placement = tuple[str, int]


@dataclass(slots=True)
class TaskSpec:
    """A task (`fn_id` set) or a call of an actor's method (`actor_id` set)."""

    task_id: bytes = b""
    name: str = ""
    args: bytes = b""
    num_returns: int = 1  # constants.STREAMING for a streaming generator
    deps: list[bytes] = field(default_factory=list)  # refs among the arguments
    contained: list[bytes] = field(default_factory=list)  # refs nested inside them
    # -- tasks ---------------------------------------------------------------------------
    fn_id: bytes | None = None
    fn_bytes: bytes | None = None  # the pickled function, the first time a caller sends it
    max_retries: int = 0
    max_calls: int = 0
    dynamic: bool = False  # num_returns="dynamic"
    # -- actor calls -----------------------------------------------------------------------
    actor_id: bytes | None = None
    method: str = ""
    max_task_retries: int | None = None  # None: the actor's
    concurrency_group: str | None = None
    # -- both ------------------------------------------------------------------------------
    resources: dict[str, float] = field(default_factory=dict)
    retry_exceptions: Any = False  # bool or a tuple of exception types
    runtime_env: dict | None = None
    env_key: str = ""
    pg: Placement | None = None
    pg_capture: bool = False
    pg_opt_out: bool = False  # PlacementGroupSchedulingStrategy(placement_group=None)
    affinity: tuple[str, bool] | None = None
    strategy: str = "DEFAULT"
    labels: list | None = None
    job: str = ""  # set by the node: the driver whose work this is
    namespace: str = ""  # set by the node: that job's namespace
    # -- set by the node for the worker that runs it -----------------------------------------
    gpu_ids: list[int] | None = None
    dep_payloads: list | None = None  # where each of `deps` is (the store, or inline)

    def encode(self) -> tuple:
        """The fields in order: the spec's form on the wire."""
        return _encode_task(self)

    @classmethod
    def decode(cls, values: tuple) -> TaskSpec:
        return cls(*values)

    def call(self, task_id: bytes, args: bytes, deps: list[bytes],
             contained: list[bytes]) -> TaskSpec:
        """A copy of this template for one call."""
        spec = _copy_task(self)
        spec.task_id = task_id
        spec.args = args
        spec.deps = deps
        spec.contained = contained
        return spec

    def __reduce__(self) -> tuple:
        return (_task_spec, (_encode_task(self),))


@dataclass(slots=True)
class ActorSpec:
    """An actor to create: its class, constructor arguments and options."""

    actor_id: bytes = b""
    class_name: str = ""
    fn_id: bytes = b""
    fn_bytes: bytes | None = None  # the pickled class, sent with every creation
    args: bytes = b""
    deps: list[bytes] = field(default_factory=list)
    contained: list[bytes] = field(default_factory=list)
    resources: dict[str, float] = field(default_factory=dict)
    # No resources were asked for: as in Ray, placing the actor needs 1 CPU free and
    # running it holds none.
    default_resources: bool = False
    max_restarts: int = 0
    max_task_retries: int = 0
    max_concurrency: int | None = None
    concurrency_groups: dict[str, int] = field(default_factory=dict)
    name: str | None = None
    namespace: str | None = None
    lifetime: str | None = None
    get_if_exists: bool = False
    runtime_env: dict | None = None
    env_key: str = ""
    pg: Placement | None = None
    pg_capture: bool = False
    pg_opt_out: bool = False
    affinity: tuple[str, bool] | None = None
    strategy: str = "DEFAULT"
    labels: list | None = None
    meta: dict | None = None  # the class's method table, for handles
    job: str = ""  # set by the node
    job_namespace: str = ""  # set by the node: the creating job's namespace
    num_restarts: int = 0  # set by the node before a restart
    name_claimed: bool = False  # the node already claimed the name in the control store
    gpu_ids: list[int] | None = None  # set by the node for the worker
    dep_payloads: list | None = None

    @property
    def task_id(self) -> bytes:
        """The constructor's call is known by the actor's id."""
        return self.actor_id

    def encode(self) -> tuple:
        return _encode_actor(self)

    @classmethod
    def decode(cls, values: tuple) -> ActorSpec:
        return cls(*values)

    def __reduce__(self) -> tuple:
        return (_actor_spec, (_encode_actor(self),))


_TASK_FIELDS = tuple(f.name for f in fields(TaskSpec))
_ACTOR_FIELDS = tuple(f.name for f in fields(ActorSpec))


def _generated(src: str, **scope: Any) -> Any:
    """A function compiled from `src`, generated from a dataclass's own field names:
    plain attribute reads and writes, several times faster than a loop of getattr."""
    exec(src, scope)  # noqa: S102
    return scope["fn"]


def _encoder(names: tuple[str, ...]) -> Any:
    return _generated("def fn(s):\n    return (" + ", ".join(f"s.{n}" for n in names) + ",)\n")


def _copier(cls: type, names: tuple[str, ...]) -> Any:
    body = "".join(f"    c.{n} = s.{n}\n" for n in names)
    return _generated(f"def fn(s):\n    c = new(cls)\n{body}    return c\n",
                      new=object.__new__, cls=cls)


_encode_task = _encoder(_TASK_FIELDS)
_encode_actor = _encoder(_ACTOR_FIELDS)
_copy_task = _copier(TaskSpec, _TASK_FIELDS)
_copy_actor = _copier(ActorSpec, _ACTOR_FIELDS)


def copy_task(spec: TaskSpec) -> TaskSpec:
    """A shallow copy (the node adds fields per destination)."""
    return _copy_task(spec)


def copy_spec(spec: TaskSpec | ActorSpec) -> TaskSpec | ActorSpec:
    """A shallow copy of either kind."""
    return _copy_task(spec) if type(spec) is TaskSpec else _copy_actor(spec)


def decode(kind: str, values: tuple) -> TaskSpec | ActorSpec:
    """The spec of an Execute message of this kind ("actor_init": an ActorSpec)."""
    return ActorSpec(*values) if kind == "actor_init" else TaskSpec(*values)


def _task_spec(values: tuple) -> TaskSpec:
    return TaskSpec(*values)


def _actor_spec(values: tuple) -> ActorSpec:
    return ActorSpec(*values)


__all__ = ["ActorSpec", "Placement", "TaskSpec", "copy_spec", "copy_task", "decode"]
