"""Column data types, as Ray Data's `ray.data.datatype`: `DataType.int64()`,
`DataType.from_arrow(pa.timestamp("us"))`, `DataType.temporal("date32")`; the return
type of an expression UDF (`ember.data.expressions.udf`).

A DataType wraps a pyarrow type, a NumPy dtype or a Python type; ember's blocks are
Arrow tables, so `to_arrow_dtype()` is what an expression's result is cast to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["DataType", "TypeCategory"]


class TypeCategory(StrEnum):
    """Groups of types, for `DataType.is_of`."""

    LIST = "list"
    LARGE_LIST = "large_list"
    STRUCT = "struct"
    MAP = "map"
    TENSOR = "tensor"
    TEMPORAL = "temporal"


_ARROW_FACTORIES = {
    "int8": pa.int8, "int16": pa.int16, "int32": pa.int32, "int64": pa.int64,
    "uint8": pa.uint8, "uint16": pa.uint16, "uint32": pa.uint32, "uint64": pa.uint64,
    "float32": pa.float32, "float64": pa.float64, "string": pa.string, "bool": pa.bool_,
    "binary": pa.binary,
}


class DataType:
    """A column type: a pyarrow type, a NumPy dtype or a Python type."""

    __slots__ = ("_physical_dtype",)

    def __init__(self, physical_dtype: pa.DataType | np.dtype | type) -> None:
        if not isinstance(physical_dtype, pa.DataType | np.dtype | type):
            raise TypeError("DataType supports only PyArrow DataType, NumPy dtype, or Python "
                            f"type, but was given type {type(physical_dtype)}.")
        self._physical_dtype = physical_dtype

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_arrow(cls, arrow_type: pa.DataType) -> DataType:
        return cls(arrow_type)

    @classmethod
    def from_numpy(cls, numpy_dtype: np.dtype | str) -> DataType:
        return cls(np.dtype(numpy_dtype))

    @classmethod
    def infer_dtype(cls, value: Any) -> DataType:
        """The type pyarrow infers for `value`."""
        return cls(pa.array([value]).type)

    @classmethod
    def list(cls, value_type: DataType) -> DataType:
        return cls(pa.list_(value_type.to_arrow_dtype()))

    @classmethod
    def large_list(cls, value_type: DataType) -> DataType:
        return cls(pa.large_list(value_type.to_arrow_dtype()))

    @classmethod
    def fixed_size_list(cls, value_type: DataType, list_size: int) -> DataType:
        return cls(pa.list_(value_type.to_arrow_dtype(), list_size))

    @classmethod
    def struct(cls, fields: list[tuple[str, DataType]]) -> DataType:
        return cls(pa.struct([(name, t.to_arrow_dtype()) for name, t in fields]))

    @classmethod
    def map(cls, key_type: DataType, value_type: DataType) -> DataType:
        return cls(pa.map_(key_type.to_arrow_dtype(), value_type.to_arrow_dtype()))

    @classmethod
    def temporal(cls, temporal_type: str, unit: str | None = None,
                 tz: str | None = None) -> DataType:
        """timestamp (unit, tz), date32, date64, time32 (s/ms), time64 (us/ns), duration."""
        kind = temporal_type.lower()
        if kind == "timestamp":
            return cls(pa.timestamp(unit or "us", tz=tz))
        if kind == "date32":
            return cls(pa.date32())
        if kind == "date64":
            return cls(pa.date64())
        if kind == "time32":
            if (unit or "s") not in ("s", "ms"):
                raise ValueError(f"time32 unit must be 's' or 'ms', got {unit}")
            return cls(pa.time32(unit or "s"))
        if kind == "time64":
            if (unit or "us") not in ("us", "ns"):
                raise ValueError(f"time64 unit must be 'us' or 'ns', got {unit}")
            return cls(pa.time64(unit or "us"))
        if kind == "duration":
            return cls(pa.duration(unit or "us"))
        raise ValueError(f"Invalid temporal_type '{temporal_type}'. Must be one of: "
                         "'timestamp', 'date32', 'date64', 'time32', 'time64', 'duration'")

    # -- conversion and checks --------------------------------------------------------

    def is_arrow_type(self) -> bool:
        return isinstance(self._physical_dtype, pa.DataType)

    def is_numpy_type(self) -> bool:
        return isinstance(self._physical_dtype, np.dtype)

    def is_python_type(self) -> bool:
        return isinstance(self._physical_dtype, type)

    def to_arrow_dtype(self, values: list[Any] | None = None) -> pa.DataType:
        """The pyarrow type (inferred from `values` for a Python type)."""
        t = self._physical_dtype
        if isinstance(t, pa.DataType):
            return t
        if isinstance(t, np.dtype):
            return pa.from_numpy_dtype(t)
        if values:
            return pa.array(values).type
        return pa.array([t()]).type

    def to_numpy_dtype(self) -> np.dtype:
        t = self._physical_dtype
        if isinstance(t, np.dtype):
            return t
        if isinstance(t, pa.DataType):
            try:
                return np.dtype(t.to_pandas_dtype())
            except (NotImplementedError, TypeError):
                return np.dtype(object)
        return np.dtype(t)

    def is_of(self, category: TypeCategory | str) -> bool:
        category = TypeCategory(category)
        checks = {TypeCategory.LIST: self.is_list_type,
                  TypeCategory.LARGE_LIST: lambda: self.is_arrow_type() and
                  pa.types.is_large_list(self._physical_dtype),
                  TypeCategory.STRUCT: self.is_struct_type, TypeCategory.MAP: self.is_map_type,
                  TypeCategory.TENSOR: self.is_tensor_type,
                  TypeCategory.TEMPORAL: self.is_temporal_type}
        return checks[category]()

    def _arrow(self) -> pa.DataType | None:
        t = self._physical_dtype
        if isinstance(t, pa.DataType):
            return t
        if isinstance(t, np.dtype):
            try:
                return pa.from_numpy_dtype(t)
            except (NotImplementedError, pa.ArrowNotImplementedError):
                return None
        return None

    def _check(self, predicate: Any) -> bool:
        t = self._arrow()
        return t is not None and bool(predicate(t))

    def is_list_type(self) -> bool:
        return self._check(lambda t: pa.types.is_list(t) or pa.types.is_large_list(t)
                           or pa.types.is_fixed_size_list(t))

    def is_tensor_type(self) -> bool:
        return self._check(lambda t: isinstance(t, pa.FixedShapeTensorType))

    def is_struct_type(self) -> bool:
        return self._check(pa.types.is_struct)

    def is_map_type(self) -> bool:
        return self._check(pa.types.is_map)

    def is_nested_type(self) -> bool:
        return self.is_list_type() or self.is_struct_type() or self.is_map_type()

    def is_numerical_type(self) -> bool:
        return self._check(lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)
                           or pa.types.is_decimal(t))

    def is_string_type(self) -> bool:
        return self._check(lambda t: pa.types.is_string(t) or pa.types.is_large_string(t))

    def is_binary_type(self) -> bool:
        return self._check(lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t)
                           or pa.types.is_fixed_size_binary(t))

    def is_temporal_type(self) -> bool:
        return self._check(pa.types.is_temporal)

    # -- value semantics --------------------------------------------------------------

    def __repr__(self) -> str:
        t = self._physical_dtype
        if isinstance(t, pa.DataType):
            return f"DataType(arrow:{t})"
        if isinstance(t, np.dtype):
            return f"DataType(numpy:{t})"
        return f"DataType(python:{t.__name__})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DataType)
                and type(self._physical_dtype) is type(other._physical_dtype)
                and self._physical_dtype == other._physical_dtype)

    def __hash__(self) -> int:
        return hash((type(self._physical_dtype), str(self._physical_dtype)))


def _factory(arrow_type: Any) -> classmethod:
    def make(cls: type[DataType]) -> DataType:
        return cls(arrow_type())

    make.__doc__ = f"A DataType of pyarrow's {arrow_type().__str__()}."
    return classmethod(make)


for _name, _arrow_type in _ARROW_FACTORIES.items():
    setattr(DataType, _name, _factory(_arrow_type))
