"""Application metrics with Serve's tags (Ray's `ray.serve.metrics`).

`Counter`, `Gauge` and `Histogram` are `ember.util.metrics`' with, inside a replica,
the tags "deployment", "replica" and "application" added and filled in, and "route"
filled in from the request being handled when it is among the tag keys. Outside a
replica they are the plain metrics.
"""

from __future__ import annotations

from typing import Any

from ember.serve import context
from ember.util import metrics

__all__ = ["Counter", "Gauge", "Histogram"]

DEPLOYMENT_TAG = "deployment"
REPLICA_TAG = "replica"
APPLICATION_TAG = "application"
ROUTE_TAG = "route"
_RESERVED = (DEPLOYMENT_TAG, REPLICA_TAG, APPLICATION_TAG)


def _replica() -> Any:
    try:
        return context.get_replica_context()
    except Exception:  # noqa: BLE001 - outside a replica
        return None


def _tag_keys(tag_keys: tuple[str, ...] | None) -> tuple[str, ...]:
    keys = tuple(tag_keys or ())
    ctx = _replica()
    if ctx is None:
        return keys
    serve_keys = (DEPLOYMENT_TAG, REPLICA_TAG) + ((APPLICATION_TAG,) if ctx.app_name else ())
    if keys[:len(serve_keys)] == serve_keys:
        return keys  # rebuilt from a pickle: the tags are there already
    for key in _RESERVED:
        if key in keys:
            raise ValueError(f"'{key}' tag is reserved for Ray Serve metrics")
    return serve_keys + keys


def _default_tags(tags: dict[str, str]) -> dict[str, str]:
    ctx = _replica()
    if ctx is None:
        return dict(tags)
    for key in _RESERVED:
        if key in tags:
            raise ValueError(f"'{key}' tag is reserved for Ray Serve metrics")
    out = {**tags, DEPLOYMENT_TAG: ctx.deployment, REPLICA_TAG: ctx.replica_tag}
    if ctx.app_name:
        out[APPLICATION_TAG] = ctx.app_name
    return out


def _with_route(tag_keys: tuple[str, ...], tags: dict[str, str] | None) -> dict[str, str]:
    tags = dict(tags or {})
    if ROUTE_TAG in tag_keys and ROUTE_TAG not in tags:
        tags[ROUTE_TAG] = context.get_request_context().route
    return tags


class Counter(metrics.Counter):
    """A count that only goes up, with Serve's tags."""

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        super().__init__(name, description, _tag_keys(tag_keys))
        self.set_default_tags({})

    def set_default_tags(self, default_tags: dict[str, str]) -> Counter:
        super().set_default_tags(_default_tags(default_tags))
        return self

    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        super().inc(value, _with_route(self._tag_keys, tags))


class Gauge(metrics.Gauge):
    """A value that is set, with Serve's tags."""

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        super().__init__(name, description, _tag_keys(tag_keys))
        self.set_default_tags({})

    def set_default_tags(self, default_tags: dict[str, str]) -> Gauge:
        super().set_default_tags(_default_tags(default_tags))
        return self

    def set(self, value: float | None, tags: dict[str, str] | None = None) -> None:
        super().set(value, _with_route(self._tag_keys, tags))


class Histogram(metrics.Histogram):
    """Observations counted into buckets, with Serve's tags."""

    def __init__(self, name: str, description: str = "", boundaries: list[float] | None = None,
                 tag_keys: tuple[str, ...] | None = None) -> None:
        super().__init__(name, description, boundaries, _tag_keys(tag_keys))
        self.set_default_tags({})

    def set_default_tags(self, default_tags: dict[str, str]) -> Histogram:
        super().set_default_tags(_default_tags(default_tags))
        return self

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        super().observe(value, _with_route(self._tag_keys, tags))
