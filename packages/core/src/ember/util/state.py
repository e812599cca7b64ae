"""The state API: list what the cluster runs and holds (tasks, actors, objects, …)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ember._core import context

__all__ = ["StateRow", "get_actor", "get_node", "get_placement_group", "get_task",
           "list_actors", "list_jobs", "list_nodes", "list_objects", "list_placement_groups",
           "list_tasks", "list_workers", "summarize_tasks"]


class StateRow(dict):
    """One listed entity: a dict whose keys also read as attributes (`row.actor_id`), as
    Ray's state records do."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _rows(kind: str, filters: list[tuple[str, str, Any]] | None, limit: int) -> list[StateRow]:
    rows = context.require_client().call("state", kind)
    for key, op, value in filters or []:
        if op not in ("=", "!="):
            raise ValueError(f"Unsupported filter operator {op!r}; use '=' or '!='.")
        rows = [r for r in rows if (str(r.get(key)) == str(value)) == (op == "=")]
    return [StateRow(r) for r in rows[:limit]]


def _one(kind: str, key: str, value: str) -> StateRow | None:
    rows = _rows(kind, [(key, "=", value)], 1)
    return rows[0] if rows else None


def get_actor(id: str, **_: Any) -> StateRow | None:  # noqa: A002 - Ray's parameter name
    """The actor with this id (hex), or None."""
    return _one("actors", "actor_id", id)


def get_task(id: str, **_: Any) -> StateRow | None:  # noqa: A002
    """The task with this id (hex), or None."""
    return _one("tasks", "task_id", id)


def get_node(id: str, **_: Any) -> StateRow | None:  # noqa: A002
    """The node with this id, or None."""
    return _one("nodes", "node_id", id)


def get_placement_group(id: str, **_: Any) -> StateRow | None:  # noqa: A002
    """The placement group with this id (hex), or None."""
    return _one("placement_groups", "placement_group_id", id)


def list_tasks(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[dict]:
    return _rows("tasks", filters, limit)


def list_actors(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[dict]:
    return _rows("actors", filters, limit)


def list_objects(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[dict]:
    return _rows("objects", filters, limit)


def list_nodes(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[dict]:
    return _rows("nodes", filters, limit)


def list_jobs(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[dict]:
    return _rows("jobs", filters, limit)


def list_placement_groups(filters: list | None = None, limit: int = 10_000,
                          **_: Any) -> list[dict]:
    return _rows("placement_groups", filters, limit)


def list_workers(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[dict]:
    return _rows("workers", filters, limit)


def summarize_tasks(**_: Any) -> dict:
    """Task counts per function name and state."""
    summary: dict[str, Counter] = {}
    for t in list_tasks():
        summary.setdefault(t["name"], Counter())[t["state"]] += 1
    return {"cluster": {"summary": {name: {"state_counts": dict(c)}
                                    for name, c in summary.items()}}}
