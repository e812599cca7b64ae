"""Placement groups: reserve bundles of resources atomically, then schedule into them."""

from __future__ import annotations

import numbers
from typing import Any

from ember._core.caller import context
from ember._object_ref import ObjectRef
from ember.ids import BaseID

__all__ = [
    "VALID_PLACEMENT_GROUP_STRATEGIES",
    "PlacementGroup",
    "PlacementGroupID",
    "get_current_placement_group",
    "get_placement_group",
    "placement_group",
    "placement_group_table",
    "remove_placement_group",
    "validate_placement_group",
]


VALID_PLACEMENT_GROUP_STRATEGIES = {"PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"}


class PlacementGroupID(BaseID):
    """A placement group's id (18 bytes), with Ray's `binary()`, `hex()`, `from_random()`
    and `nil()`."""

    SIZE = 18


class PlacementGroup:
    """A handle to a placement group; `ready()` gives an ObjectRef that resolves to this
    group once it is placed, `wait()` a bool."""

    @staticmethod
    def empty() -> PlacementGroup:
        """The handle of no group (Ray's nil id): tasks given it run outside any group."""
        return PlacementGroup(PlacementGroupID.nil())

    def __init__(self, id: bytes, bundle_cache: list[dict] | None = None) -> None:
        self.id = id if isinstance(id, PlacementGroupID) else PlacementGroupID(id)
        self.bundle_cache = bundle_cache

    @property
    def is_empty(self) -> bool:
        return self.id.is_nil()

    @property
    def bundle_specs(self) -> list[dict]:
        self._fill_bundle_cache_if_needed()
        return list(self.bundle_cache or [])

    @property
    def bundle_count(self) -> int:
        return len(self.bundle_specs)

    def _fill_bundle_cache_if_needed(self) -> None:
        if not self.bundle_cache and not self.is_empty:
            row = context.require_client().call("pg_table", self.id.hex())
            self.bundle_cache = list((row.get("bundles") or {}).values())

    def ready(self) -> ObjectRef:
        from ember._core.common import serialization

        if self.is_empty:
            from ember import put

            return put(self)
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


_BUNDLES_HINT = 'For example: `[{"CPU": 1.0}, {"GPU": 1.0}]`.'


def _validate_bundles(bundles: Any) -> None:
    """Raise ValueError for bundles Ray refuses (with Ray's messages), or ones with
    negative amounts or the reserved `bundle` resource."""
    if not isinstance(bundles, list | tuple):
        raise ValueError(f"Placement group bundles must be a list, got {type(bundles)}.")
    if not bundles:
        raise ValueError("Bundles must be a non-empty list of resource dictionaries. "
                         f"{_BUNDLES_HINT} Got empty list instead.")
    for i, b in enumerate(bundles):
        if not isinstance(b, dict) or not all(isinstance(k, str) for k in b) or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in b.values()):
            raise ValueError("Bundles must be a non-empty list of resource dictionaries. "
                             f"{_BUNDLES_HINT} Bundle {i} is {b!r}.")
        if not b or all(v == 0 for v in b.values()):
            raise ValueError("Bundles cannot be an empty dictionary or resources with only 0 "
                             f"values. Bundles: {bundles}")
        for k, v in b.items():
            if v < 0:
                raise ValueError(f"Bundle {i}: resource {k!r} must be a number >= 0, got {v!r}.")
        if "bundle" in b:
            raise ValueError(f"Bundle {i} uses the resource name `bundle`, which is reserved "
                             "for placement groups.")


def _validate_bundle_label_selector(bundle_label_selector: Any) -> None:
    """Raise ValueError unless this is a list of label selectors (dicts of strings in
    label syntax), one per bundle."""
    from ember import _labels

    if not isinstance(bundle_label_selector, list):
        raise ValueError("Placement group bundle_label_selector must be a list, got "
                         f"{type(bundle_label_selector)}.")
    for selector in bundle_label_selector:
        if not isinstance(selector, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in selector.items()):
            raise ValueError("Bundle label selector must be a list of string dictionary label "
                             'selectors. For example: `[{"ray.io/market_type": "spot"}, '
                             '{"ray.io/accelerator-type": "A100"}]`.')
        if err := _labels.selector_error(selector):
            raise ValueError("Invalid label selector provided in bundle_label_selector list. "
                             f"Detailed error: '{err}'")


def validate_placement_group(bundles: list[dict[str, float]], strategy: str = "PACK",
                             lifetime: str | None = None,
                             _soft_target_node_id: str | None = None,
                             bundle_label_selector: list[dict[str, str]] | None = None) -> None:
    """Raise ValueError if `placement_group` would refuse these arguments."""
    if _soft_target_node_id:
        from ember.ids import NodeID

        if strategy != "STRICT_PACK":
            raise ValueError("_soft_target_node_id currently only works with STRICT_PACK but "
                             f"got {strategy}")
        if NodeID.from_hex(_soft_target_node_id).is_nil():
            raise ValueError(f"Invalid hex ID of _soft_target_node_id, got "
                             f"{_soft_target_node_id}")
    _validate_bundles(bundles)
    if bundle_label_selector is not None:
        if not isinstance(bundle_label_selector, list) or len(bundle_label_selector) != len(
                bundles):
            raise ValueError(f"Invalid bundle label selector {bundle_label_selector}. The "
                             "length of `bundle_label_selector` should equal the length of "
                             "`bundles`.")
        _validate_bundle_label_selector(bundle_label_selector)
    if strategy not in VALID_PLACEMENT_GROUP_STRATEGIES:
        raise ValueError(f"Invalid placement group strategy {strategy}. Supported strategies "
                         f"are: {sorted(VALID_PLACEMENT_GROUP_STRATEGIES)}.")
    if lifetime not in (None, "detached"):
        raise ValueError("Placement group `lifetime` argument must be either `None` or "
                         f"'detached'. Got {lifetime}.")


def placement_group(bundles: list[dict[str, float]], strategy: str = "PACK",
                    name: str = "", lifetime: str | None = None,
                    _soft_target_node_id: str | None = None,
                    bundle_label_selector: list[dict[str, str]] | None = None,
                    _max_cpu_fraction_per_node: float | None = None) -> PlacementGroup:
    """Reserve `bundles` with PACK, SPREAD, STRICT_PACK or STRICT_SPREAD placement.

    `bundle_label_selector` (one selector per bundle) puts each bundle on a node whose
    labels match; `_soft_target_node_id` (STRICT_PACK only) prefers that node while it has
    room."""
    validate_placement_group(bundles, strategy, lifetime, _soft_target_node_id,
                             bundle_label_selector)
    clean = [{k: float(v) for k, v in b.items() if v} for b in bundles]
    pg_id = PlacementGroupID.from_random()
    context.require_client().call("pg_create", pg_id.hex(), clean, strategy, name, lifetime,
                                  _soft_target_node_id or "", bundle_label_selector or [])
    return PlacementGroup(pg_id, clean)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Release the group's resources; actors in it are killed."""
    if not isinstance(placement_group, PlacementGroup):
        raise TypeError("remove_placement_group() expects a PlacementGroup.")
    context.require_client().call("pg_remove", placement_group.id.hex())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live placement group created with this name; ValueError if there is none."""
    if not placement_group_name:
        raise ValueError("Please supply a non-empty value to get_placement_group")
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
