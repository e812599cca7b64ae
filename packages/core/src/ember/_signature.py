"""Checking a call's arguments against the remote function's signature at `.remote()`,
as Ray does, so a mismatch raises TypeError at the call site instead of in a worker.

A signature travels as a small picklable shape (names, kinds, whether each has a
default), never with the default values themselves, which need not pickle.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["Shape", "check", "shape_of"]

Shape = tuple[tuple[str, int, bool], ...]
_SIMPLE = int(inspect.Parameter.POSITIONAL_OR_KEYWORD)
_cache: dict[Shape, tuple[inspect.Signature, int | None]] = {}


def shape_of(fn: Any, drop_first: bool = False) -> Shape | None:
    """The shape of fn's signature (without its first parameter if asked), or None when
    Python cannot tell it (some builtins): such calls are not checked."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if drop_first and params and params[0].kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        params = params[1:]
    return tuple((p.name, int(p.kind), p.default is not inspect.Parameter.empty)
                 for p in params)


def _compile(shape: Shape) -> tuple[inspect.Signature, int | None]:
    params = [inspect.Parameter(name, inspect._ParameterKind(kind),
                                default=None if has_default else inspect.Parameter.empty)
              for name, kind, has_default in shape]
    simple = all(k == _SIMPLE and not d for _, k, d in shape)
    out = (inspect.Signature(params), len(shape) if simple else None)
    _cache[shape] = out
    return out


def check(shape: Shape | None, args: tuple, kwargs: dict) -> None:
    """Raise TypeError if `args`/`kwargs` cannot bind to a function of this shape."""
    if shape is None:
        return
    sig, n_simple = _cache.get(shape) or _compile(shape)
    if n_simple is not None and not kwargs and len(args) == n_simple:
        return  # the common case, without building a BoundArguments
    sig.bind(*args, **kwargs)
