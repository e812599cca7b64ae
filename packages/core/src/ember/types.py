"""Type names for annotations, as Ray's `ray.types` offers them."""

from __future__ import annotations

from ember._object_ref import ObjectRef

__all__ = ["ObjectRef"]
