"""The state API: list what the cluster runs and holds (tasks, actors, objects, …)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ember._core.caller import context

__all__ = ["StateRow", "get_actor", "get_log", "get_node", "get_objects",
           "get_placement_group", "get_task", "list_actors", "list_jobs", "list_logs",
           "list_nodes", "list_objects", "list_placement_groups", "list_tasks", "list_workers",
           "summarize_actors", "summarize_objects", "summarize_tasks"]


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
    """The first `limit` rows matching the filters, filtered and cut by the node."""
    triples = [(key, op, value) for key, op, value in filters or []]
    for _key, op, _value in triples:
        if op not in ("=", "!="):
            raise ValueError(f"Unsupported filter operator {op!r}; use '=' or '!='.")
    page = context.require_client().call("state_page", kind, triples, 0, int(limit))
    return [StateRow(r) for r in page["rows"]]


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


def list_tasks(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[StateRow]:
    return _rows("tasks", filters, limit)


def list_actors(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[StateRow]:
    return _rows("actors", filters, limit)


def list_objects(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[StateRow]:
    return _rows("objects", filters, limit)


def list_nodes(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[StateRow]:
    return _rows("nodes", filters, limit)


def list_jobs(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[StateRow]:
    """Drivers (type "DRIVER") and jobs submitted through the Jobs API ("SUBMISSION"),
    as Ray lists both."""
    rows = [StateRow({"type": "DRIVER", **r}) for r in _rows("jobs", None, 1 << 62)]
    rows += [StateRow(j) for j in _submitted_jobs()]
    for key, op, value in filters or []:
        if op not in ("=", "!="):
            raise ValueError(f"Unsupported filter operator {op!r}; use '=' or '!='.")
        rows = [r for r in rows if (str(r.get(key)) == str(value)) == (op == "=")]
    return rows[:limit]


def _submitted_jobs() -> list[dict]:
    """The Jobs API's records: in this process for an embedded cluster, else read from
    the cluster's dashboard (none if it cannot be reached)."""
    session = context.session
    dashboard = session.dashboard if session is not None else None
    if dashboard is not None and dashboard.backend.jobs is not None:
        return [j.to_json() for j in dashboard.backend.jobs.list()]
    url = session.info.get("dashboard_url") if session is not None else None
    if not url:
        return []
    try:
        with _dashboard(url) as http:
            r = http.get("/api/jobs/", params={"limit": 10_000})
            return r.json() if r.status_code == 200 else []
    except Exception:  # noqa: BLE001 - the dashboard may be off or unreachable
        return []


def list_placement_groups(filters: list | None = None, limit: int = 10_000,
                          **_: Any) -> list[StateRow]:
    return _rows("placement_groups", filters, limit)


def list_workers(filters: list | None = None, limit: int = 10_000, **_: Any) -> list[StateRow]:
    return _rows("workers", filters, limit)


def get_objects(id: str, **_: Any) -> list[StateRow]:  # noqa: A002
    """The object with this id (hex), as a list (Ray's shape: one row per copy)."""
    return _rows("objects", [("object_id", "=", id)], 1)


def _summary(kind: str) -> dict:
    return {"cluster": context.require_client().call("state_summary", kind)}


def summarize_tasks(**_: Any) -> dict:
    """Task counts per function name and state: {"cluster": {"summary": {name:
    {"func_or_class_name": name, "state_counts": {state: n}}}, "total": n}}."""
    return _summary("tasks")


def summarize_actors(**_: Any) -> dict:
    """Actor counts per class and state: {"cluster": {"summary": {class_name:
    {"class_name": ..., "state_counts": {state: n}}}, "total": n}}."""
    return _summary("actors")


def summarize_objects(**_: Any) -> dict:
    """Object counts and bytes per state: {"cluster": {"summary": {state: {"count": n,
    "total_size_bytes": b}}, "total": n}}."""
    return _summary("objects")


def _dashboard(address: str | None) -> Any:
    import httpx

    from ember.job_submission.sdk import resolve

    url, token = resolve(address)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


def list_logs(address: str | None = None, node_id: str | None = None, glob_filter: str = "*",
              **_: Any) -> dict[str, list[str]]:
    """Log files the cluster's dashboard serves, {node_id: [file names]} (read over the
    dashboard's HTTP API, as Ray's state API is)."""
    import fnmatch

    with _dashboard(address) as http:
        r = http.get("/api/v0/logs")
        r.raise_for_status()
        nodes = r.json()["data"]["result"]
    return {node: [f["filename"] for f in files if fnmatch.fnmatch(f["filename"], glob_filter)]
            for node, files in nodes.items() if node_id in (None, node)}


def get_log(address: str | None = None, filename: str | None = None, tail: int = 1000,
            **_: Any) -> Iterator[str]:
    """The last `tail` lines of a log file (all of it with tail=-1), line by line."""
    with _dashboard(address) as http:
        params: dict[str, Any] = {"filename": filename or ""}
        if tail is not None and tail >= 0:
            params["lines"] = tail
        r = http.get("/api/v0/logs/file", params=params)
        if r.status_code == 404:
            raise ValueError(f"No log file named {filename!r}.")
        r.raise_for_status()
        text = r.text
    yield from text.splitlines(keepends=True)
