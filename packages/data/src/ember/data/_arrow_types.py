"""Columns Arrow has no native type for: tensors and arbitrary Python objects.

Fixed-shape tensors use Arrow's canonical `arrow.fixed_shape_tensor` extension (so they
survive Parquet round trips and read back zero-copy as one ndarray). Ragged tensors and
other Python objects are pickled into an `ember.python_object` extension column.
"""

from __future__ import annotations

import datetime
import pickle
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["PythonObjectType", "array_to_numpy", "column_values", "is_tensor_type", "to_arrow"]


class PythonObjectType(pa.ExtensionType):
    """A column of pickled Python objects (ragged tensors, dicts of mixed types, …)."""

    def __init__(self) -> None:
        super().__init__(pa.large_binary(), "ember.python_object")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType,
                                  serialized: bytes) -> PythonObjectType:
        return cls()

    def __reduce__(self) -> Any:
        return PythonObjectType, ()


try:
    pa.register_extension_type(PythonObjectType())
except pa.ArrowKeyError:  # already registered in this process
    pass


def _objects_array(values: Any) -> pa.ExtensionArray:
    import cloudpickle

    storage = pa.array([None if v is None else cloudpickle.dumps(v, protocol=5) for v in values],
                       type=pa.large_binary())
    return pa.ExtensionArray.from_storage(PythonObjectType(), storage)


def _tensor_array(arr: np.ndarray) -> pa.Array:
    arr = np.ascontiguousarray(arr)
    canonical = tuple(int(np.prod(arr.shape[i + 1:])) * arr.itemsize for i in range(arr.ndim))
    if arr.strides != canonical:  # size-1 axes may carry any stride; Arrow wants C order
        arr = np.lib.stride_tricks.as_strided(arr, arr.shape, canonical)
    if arr.dtype == np.bool_ or arr.dtype.kind in "OUSV":
        return _objects_array(list(arr))
    return pa.FixedShapeTensorArray.from_numpy_ndarray(arr)


def _is_torch(value: Any) -> bool:
    return type(value).__name__ == "Tensor" and type(value).__module__.startswith("torch")


def _all_arrays(values: Any) -> bool:
    return len(values) > 0 and all(isinstance(v, np.ndarray) for v in values)


def to_arrow(values: Any) -> pa.Array | pa.ChunkedArray:
    """Convert one column (ndarray, list, Series, Arrow array, tensor) to Arrow."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if type(values).__module__.startswith("polars") and hasattr(values, "to_arrow"):
        return values.to_arrow()  # polars Series
    if _is_torch(values):
        values = values.detach().cpu().numpy()
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):  # pandas Series
        if values.dtype == object:
            values = values.to_numpy()
        else:
            return pa.Array.from_pandas(values)
    if isinstance(values, np.ndarray):
        if values.ndim > 1:
            return _tensor_array(values)
        if values.dtype != object:
            return pa.array(values)
        values = list(values)
    if not isinstance(values, list):
        values = list(values)
    if any(_is_torch(v) for v in values):  # torch tensors become ndarrays, as in Ray
        values = [v.detach().cpu().numpy() if _is_torch(v) else v for v in values]
    if _all_arrays(values):
        shapes = {v.shape for v in values}
        dtypes = {v.dtype for v in values}
        if len(shapes) == 1 and len(dtypes) == 1 and values[0].ndim >= 1:
            return _tensor_array(np.stack(values))
        return _objects_array(values)
    unit = _datetime_unit(values)
    try:
        return pa.array(values, type=pa.timestamp(unit) if unit else None)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
            ValueError, OverflowError):
        return _objects_array(values)


def _datetime_unit(values: list) -> str | None:
    """For a list of datetimes (datetime.datetime or pandas Timestamps), the coarsest
    timestamp unit that holds them all exactly, as Ray picks it ('s' at the coarsest)."""
    if not values or not all(isinstance(v, datetime.datetime) for v in values):
        return None
    if any(getattr(v, "tzinfo", None) is not None for v in values):
        return None
    units = ("s", "ms", "us", "ns")
    best = 0
    for v in values:
        if getattr(v, "nanosecond", 0):
            return "ns"
        if v.microsecond:
            best = max(best, 1 if v.microsecond % 1000 == 0 else 2)
    return units[best]


def is_tensor_type(t: pa.DataType) -> bool:
    return isinstance(t, pa.FixedShapeTensorType)


def array_to_numpy(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """One column as an ndarray: zero-copy for single-chunk primitives without nulls."""
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 1:
            col = col.chunk(0)
        elif col.num_chunks == 0 and isinstance(col.type, pa.BaseExtensionType):
            col = pa.ExtensionArray.from_storage(col.type, pa.array(
                [], type=col.type.storage_type))
        elif col.num_chunks == 0:
            col = pa.array([], type=col.type)
        else:
            col = col.combine_chunks()
    t = col.type
    if isinstance(t, pa.FixedShapeTensorType):
        if col.null_count:
            return np.array([None if v is None else v for v in _tensor_rows(col)], dtype=object)
        return col.to_numpy_ndarray()
    if isinstance(t, PythonObjectType):
        out = np.empty(len(col), dtype=object)
        out[:] = [None if b is None else pickle.loads(b) for b in col.storage.to_pylist()]
        return out
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner = t.value_type
        if not col.null_count and (pa.types.is_integer(inner) or pa.types.is_floating(inner)):
            lengths = set(col.value_lengths().to_pylist()) if len(col) else set()
            if len(lengths) == 1:
                flat = col.flatten().to_numpy(zero_copy_only=False)
                return flat.reshape(len(col), lengths.pop())
        out = np.empty(len(col), dtype=object)
        out[:] = [None if v is None else np.asarray(v) for v in col.to_pylist()]
        return out
    return col.to_numpy(zero_copy_only=False)


def _tensor_rows(col: pa.Array) -> list:
    arr = col.storage
    shape = col.type.shape
    out = []
    for i in range(len(col)):
        v = arr[i]
        out.append(None if not v.is_valid else np.asarray(v.values).reshape(shape))
    return out


def column_values(col: pa.ChunkedArray) -> list:
    """One column as a list of Python values (tensor cells as ndarrays), for rows."""
    t = col.type
    if isinstance(t, pa.FixedShapeTensorType | PythonObjectType):
        return list(array_to_numpy(col))
    return col.to_pylist()
