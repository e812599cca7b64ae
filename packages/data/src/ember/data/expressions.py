"""Column expressions, as Ray Data's `ray.data.expressions`: `col("x") * 2 + lit(1)`,
`(col("a") > 3) & (col("b") == "y")`, `col("v").is_not_null()`, `col("k").is_in([1, 2])`.

An `Expr` wraps a pyarrow compute expression, evaluated inside the blocks (and pushed
into Parquet reads by `filter`). Ray's operators and predicate methods build new
expressions; `to_pyarrow()` gives the pyarrow expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow.compute as pc

__all__ = ["Expr", "col", "lit", "monotonically_increasing_id"]


def _raw(value: Any) -> Any:
    return value._expr if isinstance(value, Expr) else value


def _binary(fn: Callable[[Any, Any], Any], reverse: bool = False) -> Callable:
    def method(self: Expr, other: Any) -> Expr:
        a, b = (_raw(other), self._expr) if reverse else (self._expr, _raw(other))
        if not isinstance(a, pc.Expression):
            a = pc.scalar(a)
        return Expr(fn(a, b))

    return method


def _unary(kernel: str) -> Callable[[Expr], Expr]:
    def method(self: Expr) -> Expr:
        return Expr(getattr(pc, kernel)(self._expr))

    method.__doc__ = f"pyarrow's `{kernel}` of this expression."
    return method


class Expr:
    """A column expression (Ray Data's `Expr`)."""

    __slots__ = ("_expr", "_name")

    def __init__(self, expr: pc.Expression, name: str | None = None) -> None:
        self._expr = expr
        self._name = name

    # Arithmetic, comparison and boolean operators build new expressions.
    __add__ = _binary(lambda a, b: pc.add(a, b))
    __radd__ = _binary(lambda a, b: pc.add(a, b), reverse=True)
    __sub__ = _binary(lambda a, b: pc.subtract(a, b))
    __rsub__ = _binary(lambda a, b: pc.subtract(a, b), reverse=True)
    __mul__ = _binary(lambda a, b: pc.multiply(a, b))
    __rmul__ = _binary(lambda a, b: pc.multiply(a, b), reverse=True)
    __truediv__ = _binary(lambda a, b: pc.divide(a, b))
    __rtruediv__ = _binary(lambda a, b: pc.divide(a, b), reverse=True)
    __floordiv__ = _binary(lambda a, b: pc.floor(pc.divide(a, b)))
    __mod__ = _binary(lambda a, b: pc.subtract(a, pc.multiply(pc.floor(pc.divide(a, b)), b)))
    __pow__ = _binary(lambda a, b: pc.power(a, b))
    __eq__ = _binary(lambda a, b: pc.equal(a, b))  # type: ignore[assignment]
    __ne__ = _binary(lambda a, b: pc.not_equal(a, b))  # type: ignore[assignment]
    __lt__ = _binary(lambda a, b: pc.less(a, b))
    __le__ = _binary(lambda a, b: pc.less_equal(a, b))
    __gt__ = _binary(lambda a, b: pc.greater(a, b))
    __ge__ = _binary(lambda a, b: pc.greater_equal(a, b))
    __and__ = _binary(lambda a, b: pc.and_kleene(a, b))
    __rand__ = _binary(lambda a, b: pc.and_kleene(a, b), reverse=True)
    __or__ = _binary(lambda a, b: pc.or_kleene(a, b))
    __ror__ = _binary(lambda a, b: pc.or_kleene(a, b), reverse=True)
    __xor__ = _binary(lambda a, b: pc.xor(a, b))

    def __invert__(self) -> Expr:
        return Expr(pc.invert(self._expr))

    def __neg__(self) -> Expr:
        return Expr(pc.negate(self._expr))

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError("An expression has no truth value; combine expressions with "
                        "&, | and ~ instead of and, or and not.")

    abs = _unary("abs")
    ceil = _unary("ceil")
    floor = _unary("floor")
    sign = _unary("sign")
    negate = _unary("negate")
    exp = _unary("exp")
    ln = _unary("ln")
    sqrt = _unary("sqrt")
    sin = _unary("sin")
    cos = _unary("cos")
    tan = _unary("tan")
    asin = _unary("asin")
    acos = _unary("acos")
    atan = _unary("atan")
    trunc = _unary("trunc")

    def is_null(self) -> Expr:
        """True where the value is null."""
        return Expr(self._expr.is_null())

    def is_not_null(self) -> Expr:
        """True where the value is not null."""
        return Expr(self._expr.is_valid())

    def is_in(self, values: list | Expr) -> Expr:
        """True where the value is one of `values`."""
        return Expr(self._expr.isin(_values(values)))

    def not_in(self, values: list | Expr) -> Expr:
        """True where the value is none of `values`."""
        return Expr(pc.invert(self._expr.isin(_values(values))))

    def cast(self, target: Any) -> Expr:
        """The value converted to `target` (a pyarrow type)."""
        return Expr(pc.cast(self._expr, getattr(target, "to_arrow_dtype", lambda: target)()))

    def round(self, ndigits: int = 0) -> Expr:
        return Expr(pc.round(self._expr, ndigits))

    def log(self, base: float | None = None) -> Expr:
        return Expr(pc.ln(self._expr) if base is None else pc.logb(self._expr, base))

    def power(self, exponent: Any) -> Expr:
        return self ** exponent

    def alias(self, name: str) -> Expr:
        """The same expression, output under `name`."""
        return Expr(self._expr, name)

    @property
    def name(self) -> str | None:
        """The output name given by `alias`, or the column's name for `col(...)`."""
        return self._name

    def structurally_equals(self, other: Any) -> bool:
        """Whether `other` is the same expression (same tree and name)."""
        return isinstance(other, Expr) and self._name == other._name and \
            self._expr.equals(other._expr)

    def to_pyarrow(self) -> pc.Expression:
        """The pyarrow compute expression."""
        return self._expr

    def __repr__(self) -> str:
        return f"Expr({self._expr})" if self._name is None else \
            f"Expr({self._expr}).alias({self._name!r})"


def _values(values: Any) -> list:
    if isinstance(values, Expr):
        raise TypeError("is_in/not_in take a list of values.")
    return list(values)


def col(name: str) -> Expr:
    """The column `name`."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"col() takes a column name, got {name!r}.")
    return Expr(pc.field(name), name)


def lit(value: Any) -> Expr:
    """A constant."""
    return Expr(pc.scalar(value))


class _MonotonicallyIncreasingId(Expr):
    """`monotonically_increasing_id()`: computed by the task, not by pyarrow."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None)

    def structurally_equals(self, other: Any) -> bool:
        return False  # never equal, not even to itself: its values depend on the run

    def to_pyarrow(self) -> pc.Expression:
        raise TypeError("monotonically_increasing_id() is computed by each task; it has "
                        "no pyarrow expression.")

    def __repr__(self) -> str:
        return "monotonically_increasing_id()"


def monotonically_increasing_id() -> Expr:
    """Unique int64 ids that increase within each block (Ray's and Spark's): the task's
    index in the upper 31 bits, the row's number within the task in the lower 33. Not
    consecutive, and they depend on how the dataset is split into tasks."""
    return _MonotonicallyIncreasingId()


class _MonotonicIdColumn:
    """Evaluates `monotonically_increasing_id()` over the batches of one task (each
    expression counts its own rows)."""

    def __init__(self) -> None:
        self._run = -1
        self._count = 0

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        from ember.data._task_context import current_task_index, current_task_run

        run = current_task_run()
        if run != self._run:
            self._run, self._count = run, 0
        start = (current_task_index() << 33) + self._count
        self._count += table.num_rows
        return pa.array(range(start, start + table.num_rows), pa.int64())
