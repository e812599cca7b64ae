"""The state API over HTTP (`/api/v0/...`, Ray's paths and envelope), paged on the server.

Every list answers `{"result": true, "msg": "", "data": {"result": {"result": [rows],
"total": N, "num_after_truncation": len(rows), "num_filtered": N, "offset": o,
"limit": l}}}`: `total` counts every row matching the filters, so a page never hides
how many exist.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ember.dashboard.backend import Backend

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
KINDS = ("tasks", "actors", "objects", "nodes", "placement_groups", "workers", "jobs")


class BadQuery(ValueError):
    """A query parameter the API cannot use (answered with 400)."""


def envelope(result: Any) -> dict:
    return {"result": True, "msg": "", "data": {"result": result}}


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise BadQuery(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def page_params(request: Request) -> tuple[list[tuple[str, str, str]], int, int]:
    """(filters, offset, limit) from `filter_keys`/`filter_predicates`/`filter_values`
    (repeated, in step, as Ray's state API sends them), `offset` and `limit`."""
    keys = request.query_params.getlist("filter_keys")
    preds = request.query_params.getlist("filter_predicates")
    values = request.query_params.getlist("filter_values")
    if not len(keys) == len(preds) == len(values):
        raise BadQuery("filter_keys, filter_predicates and filter_values must come in step")
    for p in preds:
        if p not in ("=", "!="):
            raise BadQuery(f"unsupported filter predicate {p!r}; use '=' or '!='")
    filters = list(zip(keys, preds, values, strict=True))
    offset = _int(request, "offset", 0, 0, 1 << 62)
    limit = _int(request, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT)
    return filters, offset, limit


def paged(rows: list[Any], filters: list[tuple[str, str, str]], offset: int,
          limit: int, get: Any = None) -> dict:
    """Filter and cut rows held here (nodes, jobs) the way the node manager does;
    `get(row, key)` reads a field (default: dict rows)."""
    get = get or (lambda r, k: r.get(k))
    for key, op, value in filters:
        rows = [r for r in rows if (str(get(r, key)) == value) == (op == "=")]
    return {"total": len(rows), "rows": rows[offset:offset + limit]}


def _listing(page: dict, offset: int, limit: int) -> dict:
    rows = page["rows"]
    return envelope({"result": rows, "total": page["total"],
                     "num_after_truncation": len(rows), "num_filtered": page["total"],
                     "offset": offset, "limit": limit})


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status_code=status,
                    media_type="application/json")


def routes(backend: Backend) -> list[Route]:
    def list_kind(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            return JSONResponse({"result": False, "msg": f"unknown kind {kind!r}",
                                 "data": {}}, status_code=404)
        try:
            filters, offset, limit = page_params(request)
        except BadQuery as e:
            return JSONResponse({"result": False, "msg": str(e), "data": {}}, 400)
        if kind == "nodes":
            page = paged(backend.nodes(), filters, offset, limit)
        elif kind == "jobs":
            jobs = backend.jobs.list() if backend.jobs else []
            page = paged(jobs, filters, offset, limit,
                         get=lambda j, k: getattr(j, k, None) if k != "status"
                         else j.status.value)
            page["rows"] = [j.to_json() for j in page["rows"]]
        else:
            page = backend.request("state_page", kind, filters, offset, limit)
        return _json(_listing(page, offset, limit))

    def summarize(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ("tasks", "actors", "objects"):
            return JSONResponse({"result": False, "msg": f"cannot summarize {kind!r}",
                                 "data": {}}, status_code=404)
        return _json(envelope(backend.request("state_summary", kind)))

    def timeline(request: Request) -> Response:
        from ember._core.common.timeline import chrome_trace

        page = backend.request("state_page", "tasks", [], 0, 1 << 62)
        return _json(chrome_trace(page["rows"]))

    return [
        Route("/api/v0/timeline", timeline),
        Route("/api/v0/{kind}/summarize", summarize),
        Route("/api/v0/{kind}", list_kind),
    ]


__all__ = ["BadQuery", "KINDS", "envelope", "page_params", "paged", "routes"]
