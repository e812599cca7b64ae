"""get_runtime_context(): ids and resources of the job, task and actor running this code."""

from __future__ import annotations

from typing import Any

from ember._core import context

__all__ = ["RuntimeContext", "get_runtime_context"]


class RuntimeContext:
    """A view of the current job, node, worker, task and actor."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _info(self) -> dict:
        return self._client.node_info()

    def _task(self) -> dict:
        return self._client.task_context()

    def get_job_id(self) -> str:
        return self._info()["job_id"].hex()

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
        return self._task().get("actor_name") or None

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
        return self._info()["namespace"]

    @property
    def current_actor(self) -> Any:
        from ember.actor import ActorHandle

        aid = self._task().get("actor_id")
        if not aid:
            raise RuntimeError("current_actor is only available inside an actor.")
        return ActorHandle(aid, self._client.actor_meta)

    def was_current_actor_reconstructed(self) -> bool:
        return bool(self._task().get("restarted"))

    def get(self) -> dict:
        return {"job_id": self.get_job_id(), "node_id": self.get_node_id(),
                "task_id": self.get_task_id(), "actor_id": self.get_actor_id(),
                "namespace": self.namespace}


def get_runtime_context() -> RuntimeContext:
    return RuntimeContext(context.require_client())
