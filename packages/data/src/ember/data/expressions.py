"""Column expressions, as Ray Data's `ray.data.expressions`: `col("x") * 2 + lit(1)`,
`(col("a") > 3) & (col("b") == "y")`. They are pyarrow compute expressions, evaluated
inside the blocks (and pushed into Parquet reads by `filter`)."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

__all__ = ["Expr", "col", "lit"]

Expr = pc.Expression


def col(name: str) -> Expr:
    """The column `name`."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"col() takes a column name, got {name!r}.")
    return pc.field(name)


def lit(value: Any) -> Expr:
    """A constant."""
    return pc.scalar(value)
