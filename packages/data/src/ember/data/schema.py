"""Schema: the column names and types of a Dataset (wraps a pyarrow.Schema)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

__all__ = ["Schema"]


class Schema:
    def __init__(self, base_schema: pa.Schema) -> None:
        self.base_schema = base_schema

    @property
    def names(self) -> list[str]:
        return list(self.base_schema.names)

    @property
    def types(self) -> list[Any]:
        """Arrow types; tensor columns show as their numpy-side description."""
        out = []
        for f in self.base_schema:
            if isinstance(f.type, pa.FixedShapeTensorType):
                out.append(f"numpy.ndarray(shape={tuple(f.type.shape)}, "
                           f"dtype={f.type.value_type.to_pandas_dtype().__name__})")
            elif getattr(f.type, "extension_name", None) == "ember.python_object":
                out.append("object")
            else:
                out.append(f.type)
        return out

    def __len__(self) -> int:
        return len(self.base_schema)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Schema):
            return self.base_schema.equals(other.base_schema)
        if isinstance(other, pa.Schema):
            return self.base_schema.equals(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.names))

    def __repr__(self) -> str:
        names = self.names
        types = [str(t) for t in self.types]
        w1 = max([len("Column")] + [len(n) for n in names])
        lines = [f"{'Column':<{w1}}  {'Type'}", f"{'-' * len('Column'):<{w1}}  {'-' * 4}"]
        lines += [f"{n:<{w1}}  {t}" for n, t in zip(names, types, strict=True)]
        return "\n".join(lines)
