"""get_runtime_context(): ids and resources of the job, task and actor running this code."""

from __future__ import annotations

import warnings
from typing import Any

from ember._core.caller import context
from ember._core.common import ids

__all__ = ["RuntimeContext", "get_runtime_context"]


class _ID:
    """What Ray's deprecated id properties return: an object with hex() and binary()."""

    __slots__ = ("_hex",)

    def __init__(self, hex_id: str) -> None:
        self._hex = hex_id

    def hex(self) -> str:
        return self._hex

    def binary(self) -> bytes:
        return bytes.fromhex(self._hex)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ID) and other._hex == self._hex

    def __hash__(self) -> int:
        return hash(self._hex)

    def __repr__(self) -> str:
        return f"ID({self._hex})"


def _deprecated_id(value: str | None, instead: str) -> _ID | None:
    warnings.warn(f"Use {instead}() instead", DeprecationWarning, stacklevel=3)
    return None if value is None else _ID(value)


class RuntimeContext:
    """A view of the current job, node, worker, task and actor."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _info(self) -> dict:
        return self._client.node_info()

    def _task(self) -> dict:
        return self._client.task_context()

    def get_job_id(self) -> str:
        """The hex id of the job this driver, task or actor belongs to (a task's is its
        submitter's, on whichever node it runs)."""
        if self._client.is_driver:
            return self._info()["job_id"].hex()
        return ids.current_job().hex()

    def get_node_id(self) -> str:
        return self._info()["node_id"]

    def get_worker_id(self) -> str:
        c = self._client
        return f"{getattr(c, 'wid', 0):016x}"

    def get_task_id(self) -> str | None:
        t = self._task().get("task_id")
        return t.hex() if t else None

    def get_actor_id(self) -> str | None:
        a = self._task().get("actor_id")
        return a.hex() if a else None

    def get_actor_name(self) -> str | None:
        """The name the current actor was created with ("" if none); None outside an
        actor (as Ray)."""
        ctx = self._task()
        if not ctx.get("actor_id"):
            return None
        return ctx.get("actor_name") or ""

    def get_task_name(self) -> str | None:
        return self._task().get("name") or None

    def get_placement_group_id(self) -> str | None:
        pg = self._task().get("pg")
        return pg[0] if pg else None

    def get_assigned_resources(self) -> dict[str, float]:
        return dict(self._task().get("resources") or {})

    def get_runtime_env_string(self) -> str:
        return "{}"

    @property
    def namespace(self) -> str:
        return self._task().get("namespace") or self._info()["namespace"]

    @property
    def current_actor(self) -> Any:
        from ember.actor import ActorHandle

        aid = self._task().get("actor_id")
        meta = getattr(self._client, "actor_meta", None)
        if not aid or meta is None:
            raise RuntimeError("current_actor is only available inside an actor.")
        return ActorHandle._weak(aid, meta)  # as Ray's: it does not keep the actor alive

    @property
    def was_current_actor_reconstructed(self) -> bool:
        """Whether this actor instance is a restart (after its process died)."""
        return bool(self._task().get("restarted"))

    @property
    def job_id(self) -> _ID | None:
        return _deprecated_id(self.get_job_id(), "get_job_id")

    @property
    def node_id(self) -> _ID | None:
        return _deprecated_id(self.get_node_id(), "get_node_id")

    @property
    def task_id(self) -> _ID | None:
        return _deprecated_id(self.get_task_id(), "get_task_id")

    @property
    def actor_id(self) -> _ID | None:
        return _deprecated_id(self.get_actor_id(), "get_actor_id")

    @property
    def current_placement_group_id(self) -> _ID | None:
        return _deprecated_id(self.get_placement_group_id(), "get_placement_group_id")

    @property
    def should_capture_child_tasks_in_placement_group(self) -> bool:
        return bool(self._task().get("pg_capture"))

    def get_task_function_name(self) -> str | None:
        """`module.function` or `module.Class.method` of the running task (None in a
        driver)."""
        return self._task().get("function_name") or None

    def get_session_name(self) -> str:
        import os

        return os.path.basename(self._info().get("session_dir") or "") or "session"

    def get_temp_dir(self) -> str:
        import os

        return os.path.dirname(self._info().get("session_dir") or "") or ""

    def get_accelerator_ids(self) -> dict[str, list[str]]:
        import os

        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        gpus = [g for g in visible.split(",") if g] if visible else []
        return {"GPU": gpus if self._task() else []}

    def get_node_labels(self) -> dict[str, str]:
        return dict(self._info().get("labels") or {})

    def is_canceled(self) -> bool:
        return bool(self._task().get("canceled"))

    @property
    def runtime_env(self) -> dict:
        return dict(self._task().get("runtime_env") or {})

    def get(self) -> dict:
        """job_id, node_id and namespace; task_id and actor_id where they apply."""
        out: dict[str, Any] = {"job_id": _ID(self.get_job_id()),
                               "node_id": _ID(self.get_node_id()),
                               "namespace": self.namespace}
        task_id = self.get_task_id()
        if task_id is not None:
            out["task_id"] = _ID(task_id)
        actor_id = self.get_actor_id()
        if actor_id is not None:
            out["actor_id"] = _ID(actor_id)
        return out


def get_runtime_context() -> RuntimeContext:
    """The ids, namespace and resources of the current driver, task or actor."""
    return RuntimeContext(context.require_client())
