"""Placement groups: reserve bundles of resources atomically, then schedule into them."""

from __future__ import annotations

import numbers
import os
from typing import Any

from ember._core.caller import context
from ember._object_ref import ObjectRef

__all__ = [
    "VALID_PLACEMENT_GROUP_STRATEGIES",
    "PlacementGroup",
    "get_current_placement_group",
    "get_placement_group",
    "placement_group",
    "placement_group_table",
    "remove_placement_group",
    "validate_placement_group",
]


VALID_PLACEMENT_GROUP_STRATEGIES = {"PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"}


class PlacementGroupID(bytes):
    """A placement group's id: bytes, with Ray's `binary()` and `hex()`."""

    def binary(self) -> bytes:
        return bytes(self)

    def __repr__(self) -> str:
        return f"PlacementGroupID({self.hex()})"


class PlacementGroup:
    """A handle to a placement group; `ready()` gives an ObjectRef that resolves to this
    group once it is placed, `wait()` a bool."""

    def __init__(self, id: bytes, bundle_specs: list[dict] | None = None) -> None:
        self.id = PlacementGroupID(id)
        self._bundles = bundle_specs or []

    @property
    def bundle_specs(self) -> list[dict]:
        return list(self._bundles)

    @property
    def bundle_count(self) -> int:
        return len(self._bundles)

    def ready(self) -> ObjectRef:
        from ember._core.common import serialization

        value = serialization.serialize(self).to_bytes()
        oid = context.require_client().call("pg_ready_ref", self.id.hex(), value)
        return ObjectRef(oid, _announce=False)

    def wait(self, timeout_seconds: float | None = 30) -> bool:
        return bool(context.require_client().call("pg_wait", self.id.hex(), timeout_seconds))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"PlacementGroup({self.id.hex()})"


def _check_bundles(bundles: Any) -> list[dict]:
    if not isinstance(bundles, list | tuple) or not bundles:
        raise ValueError("placement_group() needs a non-empty list of bundles (dicts).")
    out = []
    for i, b in enumerate(bundles):
        if not isinstance(b, dict) or not b:
            raise ValueError(f"Bundle {i} must be a non-empty dict of resources, got {b!r}.")
        clean = {}
        for k, v in b.items():
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
                raise ValueError(f"Bundle {i}: resource {k!r} must be a number >= 0, got {v!r}.")
            if v:
                clean[k] = float(v)
        if not clean:
            raise ValueError(f"Bundle {i} has only zero resources: {b!r}.")
        out.append(clean)
    return out


def validate_placement_group(bundles: list[dict[str, float]], strategy: str = "PACK",
                             lifetime: str | None = None, **_: Any) -> None:
    """Raise ValueError if `placement_group` would refuse these arguments."""
    _check_bundles(bundles)
    if strategy not in VALID_PLACEMENT_GROUP_STRATEGIES:
        raise ValueError(f"Invalid placement group strategy {strategy}. Supported strategies "
                         f"are: {sorted(VALID_PLACEMENT_GROUP_STRATEGIES)}.")
    if lifetime not in (None, "detached"):
        raise ValueError("Placement group `lifetime` argument must be either `None` or "
                         f"'detached'. Got {lifetime}.")


def placement_group(bundles: list[dict[str, float]], strategy: str = "PACK",
                    name: str = "", lifetime: str | None = None,
                    _max_cpu_fraction_per_node: float | None = None) -> PlacementGroup:
    """Reserve `bundles` with PACK, SPREAD, STRICT_PACK or STRICT_SPREAD placement."""
    clean = _check_bundles(bundles)
    validate_placement_group(bundles, strategy, lifetime)
    pg_id = os.urandom(18)
    context.require_client().call("pg_create", pg_id.hex(), clean, strategy, name, lifetime)
    return PlacementGroup(pg_id, clean)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Release the group's resources; actors in it are killed."""
    if not isinstance(placement_group, PlacementGroup):
        raise TypeError("remove_placement_group() expects a PlacementGroup.")
    context.require_client().call("pg_remove", placement_group.id.hex())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live placement group created with this name; ValueError if there is none."""
    table = context.require_client().call("pg_table", None)
    for pg_id, info in table.items():
        if info["name"] == placement_group_name and info["state"] != "REMOVED":
            return PlacementGroup(bytes.fromhex(pg_id), list(info["bundles"].values()))
    raise ValueError(f"Failed to look up placement group with name {placement_group_name!r}.")


def placement_group_table(placement_group: PlacementGroup | None = None) -> dict:
    """The state, strategy and bundles of one placement group, or of all of them (a dict
    keyed by hex id) when none is given."""
    pid = placement_group.id.hex() if placement_group is not None else None
    return context.require_client().call("pg_table", pid)


def get_current_placement_group() -> PlacementGroup | None:
    """The placement group the current task or actor was scheduled in, or None."""
    c = context.current_client()
    if c is None:
        return None
    pg = c.task_context().get("pg")
    if not pg:
        return None
    return PlacementGroup(bytes.fromhex(pg[0]))
