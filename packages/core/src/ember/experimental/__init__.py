"""Experimental surfaces, as Ray's `ray.experimental`: the shared-memory channels that
compiled graphs (`dag.experimental_compile()`) run on live in `ember.experimental.channel`;
`get_object_locations` tells where objects' values are.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_local_object_locations", "get_object_locations"]


def get_object_locations(obj_refs: list[Any], timeout_ms: int = -1) -> dict[Any, dict]:
    """For each ObjectRef: `node_ids` (hex ids of the nodes whose store holds its value;
    empty while it is not made yet), `object_size` (bytes, None while not made) and
    `did_spill`, as Ray's. Raises RuntimeError before `ember.init()`.

    `timeout_ms` is accepted for Ray's signature: the node answers at once."""
    from ember._core.caller import context

    if context.session is None:
        raise RuntimeError("ember has not been started: call ember.init() before "
                           "get_object_locations().")
    refs = list(obj_refs)
    if not refs:
        return {}
    rows = context.session.client.call("object_locations", [r.binary() for r in refs])
    return dict(zip(refs, rows, strict=True))


def get_local_object_locations(obj_refs: list[Any]) -> dict[Any, dict]:
    """get_object_locations as this process's node knows them (in ember the same: the
    node of the process that owns a ref keeps its location)."""
    return get_object_locations(obj_refs)
