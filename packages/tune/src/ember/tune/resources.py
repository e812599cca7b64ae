"""Trial resource requests: PlacementGroupFactory and the dict forms users pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PlacementGroupFactory", "resource_dict_to_pg_factory"]


class PlacementGroupFactory:
    """The resources one trial needs, as placement-group bundles.

    The trial's own process runs in the first bundle; the others are reserved for the
    tasks and actors it starts (e.g. Train workers). A single bundle is plain actor options.
    """

    def __init__(self, bundles: list[dict[str, float]], strategy: str = "PACK") -> None:
        if not bundles:
            raise ValueError("PlacementGroupFactory needs at least one bundle.")
        clean = []
        for b in bundles:
            clean.append({_canonical(k): float(v) for k, v in b.items() if v})
        self.bundles: list[dict[str, float]] = clean
        self.strategy = strategy
        self._key = (strategy, tuple(tuple(sorted(b.items())) for b in clean))
        total: dict[str, float] = {}
        for b in clean:
            for k, v in b.items():
                total[k] = total.get(k, 0.0) + v
        self._required = total

    @property
    def head_bundle(self) -> dict[str, float]:
        return dict(self.bundles[0])

    @property
    def required_resources(self) -> dict[str, float]:
        """The sum of all bundles."""
        return dict(self._required)

    def actor_options(self) -> dict[str, Any]:
        """ember actor options for the head bundle (single-bundle requests)."""
        head = self.head_bundle
        opts: dict[str, Any] = {"num_cpus": head.pop("CPU", 0.0)}
        gpus = head.pop("GPU", 0.0)
        if gpus:
            opts["num_gpus"] = gpus
        mem = head.pop("memory", 0.0)
        if mem:
            opts["memory"] = mem
        if head:
            opts["resources"] = head
        return opts

    def key(self) -> tuple:
        """Hashable identity: trials with equal keys can share an actor."""
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroupFactory) and other._key == self._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"PlacementGroupFactory({self.bundles!r}, strategy={self.strategy!r})"


def _canonical(name: str) -> str:
    low = name.lower()
    if low in ("cpu", "num_cpus"):
        return "CPU"
    if low in ("gpu", "num_gpus"):
        return "GPU"
    if low == "memory":
        return "memory"
    return name


def resource_dict_to_pg_factory(spec: Mapping[str, Any] | None) -> PlacementGroupFactory:
    """Turn {"cpu": 2, "gpu": 1, "custom": 1} (Ray's forms, any case) into one bundle."""
    spec = dict(spec or {})
    extra = spec.pop("extra_cpu", 0) or 0, spec.pop("extra_gpu", 0) or 0
    custom = spec.pop("custom_resources", None) or {}
    bundle: dict[str, float] = {}
    for k, v in {**spec, **custom}.items():
        if v is None:
            continue
        if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
            raise ValueError(f"Resource {k!r} must be a number >= 0, got {v!r}.")
        name = _canonical(k)
        bundle[name] = bundle.get(name, 0.0) + float(v)
    bundle.setdefault("CPU", 1.0)
    bundles = [bundle]
    if extra[0] or extra[1]:
        bundles.append({"CPU": float(extra[0]), "GPU": float(extra[1])})
    return PlacementGroupFactory(bundles)


def to_pg_factory(value: Any) -> PlacementGroupFactory:
    """Accept a PlacementGroupFactory, a resource dict, or an object with as_placement_group_factory()."""
    if isinstance(value, PlacementGroupFactory):
        return value
    if hasattr(value, "as_placement_group_factory"):
        return value.as_placement_group_factory()
    if isinstance(value, Mapping):
        return resource_dict_to_pg_factory(value)
    raise ValueError(f"Invalid resource request {value!r}: use a dict such as "
                     "{'cpu': 1, 'gpu': 0} or a PlacementGroupFactory.")
