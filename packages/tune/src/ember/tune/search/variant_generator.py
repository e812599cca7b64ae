"""Resolving a param_space into concrete configs: grid axes, sampled domains, functions.

A path is a tuple of dict keys / list indices locating a value in a nested config.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ember.tune.search.sample import Domain, Function

Path = tuple[Any, ...]


def is_grid(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and "grid_search" in value


def _walk(spec: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if is_grid(spec) or isinstance(spec, Domain):
        yield path, spec
    elif isinstance(spec, Mapping):
        for k, v in spec.items():
            yield from _walk(v, (*path, k))
    elif isinstance(spec, list | tuple):
        for i, v in enumerate(spec):
            yield from _walk(v, (*path, i))


def parse_spec(spec: Any) -> tuple[list[tuple[Path, list]], list[tuple[Path, Domain]],
                                   list[tuple[Path, Function]]]:
    """(grid axes, sampled domains, functions) found in `spec`, in definition order."""
    grids, domains, funcs = [], [], []
    for path, value in _walk(spec):
        if is_grid(value):
            values = value["grid_search"]
            if not isinstance(values, list | tuple) or not values:
                raise ValueError(f"grid_search at {format_path(path)} needs a non-empty list.")
            grids.append((path, list(values)))
        elif isinstance(value, Function):
            funcs.append((path, value))
        else:
            domains.append((path, value))
    return grids, domains, funcs


def has_unresolved(spec: Any) -> bool:
    return any(True for _ in _walk(spec))


def grid_size(grids: list[tuple[Path, list]]) -> int:
    return math.prod(len(v) for _, v in grids) if grids else 1


def grid_point(grids: list[tuple[Path, list]], index: int) -> list[tuple[Path, Any]]:
    """The `index`-th grid combination; the first axis varies fastest (as in Ray Tune)."""
    out = []
    for path, values in grids:
        out.append((path, values[index % len(values)]))
        index //= len(values)
    return out


def assign(config: Any, path: Path, value: Any) -> None:
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def lookup(config: Any, path: Path) -> Any:
    for key in path:
        config = config[key]
    return config


def _mutable_copy(spec: Any) -> Any:
    """Deep copy turning tuples into lists so leaves can be assigned; Domains kept as is."""
    if isinstance(spec, Domain) or is_grid(spec):
        return spec
    if isinstance(spec, Mapping):
        return {k: _mutable_copy(v) for k, v in spec.items()}
    if isinstance(spec, list | tuple):
        return [_mutable_copy(v) for v in spec]
    try:
        return copy.deepcopy(spec)
    except Exception:  # noqa: BLE001 - e.g. a lock or a client: trials share the object
        return spec


class AttrDict(dict):
    """A dict whose keys read as attributes too (`spec.config.lr`), for sample_from."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return AttrDict(value) if isinstance(value, dict) and not isinstance(value, AttrDict) \
            else value


def resolve(spec: Any, rng: np.random.Generator, grid_values: list[tuple[Path, Any]] = (),
            fixed: Mapping[Path, Any] | None = None) -> tuple[dict, dict[Path, Any]]:
    """A concrete config from `spec` and the values chosen for each variable path."""
    config = _mutable_copy(spec)
    fixed = dict(fixed or {})
    chosen: dict[Path, Any] = {}
    for path, value in grid_values:
        value = fixed.pop(path, value)
        assign(config, path, value)
        chosen[path] = value
    grids, domains, funcs = parse_spec(config)
    for path, values in grids:  # grid axes not expanded by the caller: take the first
        assign(config, path, fixed.pop(path, values[0]))
        chosen[path] = lookup(config, path)
    for path, domain in domains:
        value = fixed.pop(path) if path in fixed else domain.sample(random_state=rng)
        assign(config, path, value)
        chosen[path] = value
    for path, func in funcs:
        value = fixed.pop(path) if path in fixed else func.sample(AttrDict(config=config))
        assign(config, path, value)
        chosen[path] = value
    for path, value in fixed.items():  # points that set constants or new keys
        try:
            assign(config, path, value)
        except (KeyError, IndexError, TypeError):
            _assign_creating(config, path, value)
        chosen[path] = value
    order = {p: i for i, (p, _) in enumerate(_walk(spec))}
    chosen = dict(sorted(chosen.items(), key=lambda kv: order.get(kv[0], len(order))))
    return config, chosen


def _assign_creating(config: dict, path: Path, value: Any) -> None:
    target = config
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def format_path(path: Path) -> str:
    return "/".join(str(p) for p in path)


def format_vars(chosen: Mapping[Path, Any]) -> str:
    """A short tag such as `lr=0.0012,layers=3` for directory and trial names."""
    parts = []
    for path, value in chosen.items():
        parts.append(f"{path[-1] if path else ''}={_clean(value)}")
    return ",".join(parts)


def _clean(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    text = str(value)
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in text)[:40]


def flatten_dict(d: Mapping, delimiter: str = "/", prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a/b": 1}."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{delimiter}{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v:
            out.update(flatten_dict(v, delimiter, key))
        else:
            out[key] = v
    return out


def unflatten_dict(d: Mapping[str, Any], delimiter: str = "/") -> dict[str, Any]:
    """{"a/b": 1} -> {"a": {"b": 1}}."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        parts = str(key).split(delimiter)
        target = out
        for p in parts[:-1]:
            target = target.setdefault(p, {})
        target[parts[-1]] = value
    return out


def deep_merge(base: Mapping, update: Mapping) -> dict:
    """A copy of `base` with `update` merged in recursively (update wins)."""
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and not is_grid(out[k]):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def points_to_paths(point: Mapping) -> dict[Path, Any]:
    """A (possibly nested, possibly "a/b"-keyed) point as {path: value}."""
    out: dict[Path, Any] = {}

    def walk(d: Mapping, prefix: Path) -> None:
        for k, v in d.items():
            path = (*prefix, *str(k).split("/")) if isinstance(k, str) else (*prefix, k)
            if isinstance(v, Mapping) and v and not is_grid(v):
                walk(v, path)
            else:
                out[path] = v

    walk(point, ())
    return out


__all__ = ["AttrDict", "deep_merge", "flatten_dict", "format_vars", "parse_spec", "resolve",
           "unflatten_dict"]
