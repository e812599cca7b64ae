"""The exception tree of ember, drawn once here.

    RayError (EmberError)
    ├── RayTaskError              a task raised; re-raised at get() as a class that is also
    │                             an instance of the user's exception type
    ├── RayActorError
    │   └── ActorDiedError
    ├── ActorUnavailableError
    ├── ActorUnschedulableError   hard node affinity to a node that is not alive
    ├── TaskCancelledError
    ├── TaskUnschedulableError    hard node affinity to a node that is not alive
    ├── TaskPlacementGroupRemoved the task's placement group was removed before it ran
    ├── WorkerCrashedError        the process running a task died
    ├── NodeDiedError
    ├── ObjectLostError
    │   ├── OwnerDiedError
    │   ├── ObjectFetchTimedOutError
    │   └── ObjectReconstructionFailedError (…MaxAttemptsExceeded…, …LineageEvicted…)
    ├── ActorPlacementGroupRemoved
    ├── PendingCallsLimitExceeded an actor's caller has too many calls in flight
    ├── OutOfDiskError
    ├── AsyncioActorExit          raised inside an async actor to exit it
    ├── CrossLanguageError, LocalRayletDiedError   (kept for Ray's names)
    ├── ObjectStoreFullError
    ├── OutOfMemoryError
    ├── RuntimeEnvSetupError
    ├── InfeasibleResourceError   no node can ever provide the requested resources
    ├── RaySystemError            the runtime itself failed (e.g. spilling to disk)
    │   ├── RayChannelError       a compiled graph's channel closed (torn down)
    │   │   └── RayChannelTimeoutError   (also a GetTimeoutError)
    │   └── RayCgraphCapacityExceeded    too many compiled-graph executions in flight
    └── GetTimeoutError           (also a TimeoutError)

The Ray names are the primary names so that `except ray.exceptions.RayTaskError` ports;
`EmberError` and `EmberTaskError` are aliases.
"""

from __future__ import annotations

from typing import Any, cast

__all__ = [
    "ActorDiedError",
    "ActorPlacementGroupRemoved",
    "ActorUnavailableError",
    "ActorUnschedulableError",
    "AsyncioActorExit",
    "CrossLanguageError",
    "EmberError",
    "EmberTaskError",
    "GetTimeoutError",
    "InfeasibleResourceError",
    "LocalRayletDiedError",
    "NodeDiedError",
    "ObjectFetchTimedOutError",
    "ObjectLostError",
    "ObjectReconstructionFailedError",
    "ObjectReconstructionFailedLineageEvictedError",
    "ObjectReconstructionFailedMaxAttemptsExceededError",
    "ObjectStoreFullError",
    "OutOfDiskError",
    "OutOfMemoryError",
    "OwnerDiedError",
    "PendingCallsLimitExceeded",
    "RayActorError",
    "RayCgraphCapacityExceeded",
    "RayChannelError",
    "RayChannelTimeoutError",
    "RayError",
    "RaySystemError",
    "RayTaskError",
    "RuntimeEnvSetupError",
    "TaskCancelledError",
    "TaskPlacementGroupRemoved",
    "TaskUnschedulableError",
    "WorkerCrashedError",
]


class RayError(Exception):
    """Base of every error raised by ember's runtime."""


class RayTaskError(RayError):
    """A task or actor method raised; carries the remote traceback.

    At `get()` the error is re-raised as an instance of a class deriving from both this
    class and the user's exception class, so `except ValueError` still catches it.
    """

    def __init__(
        self,
        function_name: str = "",
        traceback_str: str = "",
        cause: BaseException | None = None,
        proctitle: str = "",
        pid: int = 0,
    ) -> None:
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause
        self.proctitle = proctitle
        self.pid = pid
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{type(self.cause).__name__ if self.cause else 'Error'} in {self.function_name}"
        where = f" (pid={self.pid})" if self.pid else ""
        return f"{head}{where}:\n{self.traceback_str.rstrip()}"

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> Any:
        return (
            RayTaskError,
            (self.function_name, self.traceback_str, self.cause, self.proctitle, self.pid),
        )

    def as_instanceof_cause(self) -> RayTaskError:
        """Return an error that is an instance of both RayTaskError and the cause's type."""
        cause_cls = type(self.cause) if self.cause is not None else None
        if cause_cls is None or isinstance(self.cause, RayTaskError):
            return self
        if not _can_subclass(cause_cls):
            return self
        dual = _dual_class(cause_cls)
        try:
            err = dual.__new__(dual)
        except TypeError:  # e.g. MemoryError, whose __new__ refuses subclasses' layout
            try:
                err = BaseException.__new__(dual)
            except TypeError:
                return self
        err.__dict__.update(self.__dict__)
        err.args = (self._message(),)
        return err


_DUAL_CACHE: dict[type, type[RayTaskError]] = {}


def _can_subclass(cls: type) -> bool:
    try:
        type("_probe", (RayTaskError, cls), {})
    except TypeError:
        return False
    return True


def _dual_class(cause_cls: type) -> type[RayTaskError]:
    cls = _DUAL_CACHE.get(cause_cls)
    if cls is None:

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # never called by us
            RayTaskError.__init__(self, *args, **kwargs)

        def __str__(self: Any) -> str:
            return RayTaskError._message(self)

        def __reduce__(self: Any) -> Any:
            return RayTaskError.__reduce__(self)

        cls = cast("type[RayTaskError]", type(
            f"RayTaskError({cause_cls.__name__})",
            (RayTaskError, cause_cls),
            {"__init__": __init__, "__str__": __str__, "__reduce__": __reduce__,
             "__module__": "ember.exceptions"},
        ))
        _DUAL_CACHE[cause_cls] = cls
    return cls


class RayActorError(RayError):
    """An actor could not run the method: it died or could not be created."""

    def __init__(self, message: str = "The actor died unexpectedly.", actor_id: str = "",
                 cause: BaseException | None = None) -> None:
        self.actor_id = actor_id
        self.cause = cause
        super().__init__(message)

    def __reduce__(self) -> Any:
        return (type(self), (str(self), self.actor_id, self.cause))


class ActorDiedError(RayActorError):
    """The actor is dead: killed, out of restarts, or its constructor raised."""


class ActorUnavailableError(RayError):
    """The actor is temporarily unreachable (for example, restarting)."""


class ActorUnschedulableError(RayError):
    """The actor can never be placed: the node its hard NodeAffinitySchedulingStrategy
    names is not alive. Its method calls raise this error."""

    def __init__(self, error_message: str = "") -> None:
        self.error_message = error_message
        super().__init__(f"The actor is not schedulable: {error_message}")

    def __reduce__(self) -> Any:
        return (type(self), (self.error_message,))


class TaskUnschedulableError(RayError):
    """The task can never be placed: the node its hard NodeAffinitySchedulingStrategy
    names is not alive (dead, or never part of the cluster)."""

    def __init__(self, error_message: str = "") -> None:
        self.error_message = error_message
        super().__init__(f"The task is not schedulable: {error_message}")

    def __reduce__(self) -> Any:
        return (type(self), (self.error_message,))


class TaskPlacementGroupRemoved(RayError):
    """The placement group the task was scheduled into was removed before it could run."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "The placement group corresponding to this task has been "
                         "removed.")


class TaskCancelledError(RayError):
    """The task was cancelled with `cancel()` before it finished."""

    def __init__(self, task_id: str = "") -> None:
        self.task_id = task_id
        super().__init__(f"Task {task_id} was cancelled." if task_id else "Task was cancelled.")

    def __reduce__(self) -> Any:
        return (type(self), (self.task_id,))


class WorkerCrashedError(RayError):
    """The worker process running the task died (signal, os._exit, segfault)."""


class NodeDiedError(RayError):
    """The node running the task or holding the object died."""


class ObjectLostError(RayError):
    """The object's value is gone and cannot be rebuilt."""

    def __init__(self, object_ref_hex: str = "", message: str = "") -> None:
        self.object_ref_hex = object_ref_hex
        super().__init__(message or f"Object {object_ref_hex} is lost and cannot be rebuilt.")

    def __reduce__(self) -> Any:
        return (type(self), (self.object_ref_hex, str(self)))


class OwnerDiedError(ObjectLostError):
    """The process that owned the object died, so its value is gone."""


class ObjectFetchTimedOutError(ObjectLostError):
    """The object could not be fetched from the node holding it in time."""


class ObjectReconstructionFailedError(ObjectLostError):
    """The object was lost and running its task again failed."""


class ObjectReconstructionFailedMaxAttemptsExceededError(ObjectLostError):
    """The object was lost and its task has no retries left to rebuild it."""


class ObjectReconstructionFailedLineageEvictedError(ObjectLostError):
    """The object was lost and the record of the task that made it is gone."""


class ActorPlacementGroupRemoved(RayError):
    """The placement group the actor was created in was removed."""


class PendingCallsLimitExceeded(RayError):
    """An actor handle has more calls in flight than its max_pending_calls allows."""


class OutOfDiskError(RayError):
    """The node's disk is full, so objects cannot be spilled."""


class AsyncioActorExit(RayError):
    """Raised inside an async actor's method to make the actor exit."""


class CrossLanguageError(RayError):
    """Kept for Ray's name: ember runs Python only."""


class LocalRayletDiedError(RayError):
    """The node manager of this process died."""


class ObjectStoreFullError(RayError, MemoryError):
    """The object store has no room for the object even after spilling."""


class OutOfMemoryError(RayError, MemoryError):
    """A worker was killed because the node ran out of memory."""


class RuntimeEnvSetupError(RayError):
    """The task's runtime_env could not be set up (for example, a pip install failed)."""


class InfeasibleResourceError(RayError, ValueError):
    """No node of the cluster can ever provide the resources a task or actor asks for."""


class RaySystemError(RayError):
    """The runtime itself failed (for example, spilling an object to disk or restoring it
    failed); the message names the cause."""


class GetTimeoutError(RayError, TimeoutError):
    """`get()` or `wait()` ran past its timeout."""


class RayChannelError(RaySystemError):
    """A compiled graph's channel failed or was closed (the graph was torn down)."""


class RayChannelTimeoutError(RayChannelError, GetTimeoutError):
    """A compiled graph's `execute()` or `get()` ran past its timeout; also a
    GetTimeoutError (and so a TimeoutError)."""


class RayCgraphCapacityExceeded(RaySystemError):
    """A compiled graph already has `_max_inflight_executions` executions whose results
    were not read yet."""


EmberError = RayError
EmberTaskError = RayTaskError
