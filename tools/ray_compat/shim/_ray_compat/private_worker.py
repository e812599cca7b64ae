"""`ray._private.worker` for Ray's tests: only its `pickle` (Ray's vendored cloudpickle,
which tests use to pickle handles and refs outside Ray) is real; every other name is a
Ray-internal stand-in that raises when used."""

from __future__ import annotations

import cloudpickle as pickle

from _ray_compat.internal import module_getattr

__all__ = ["pickle"]

__getattr__ = module_getattr("ray._private.worker")
