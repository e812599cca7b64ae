"""Column expressions, as Ray Data's `ray.data.expressions`: `col("x") * 2 + lit(1)`,
`(col("a") > 3) & (col("b") == "y")`, `col("v").is_not_null()`, `col("k").is_in([1, 2])`.

An `Expr` wraps a pyarrow compute expression, evaluated inside the blocks (and pushed
into Parquet reads by `filter`). Ray's operators and predicate methods build new
expressions; `to_pyarrow()` gives the pyarrow expression. A function decorated with
`udf(return_dtype)` called on expressions is an expression too (for `with_column`): its
result enters the pyarrow expression as a column computed first.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Callable
from typing import Any

import pyarrow.compute as pc

__all__ = ["Expr", "col", "lit", "monotonically_increasing_id", "udf"]


def _raw(value: Any) -> Any:
    return value._expr if isinstance(value, Expr) else value


_MAX_LITERAL_TEXT = 20  # Ray's inline display cuts longer literals


def _literal_text(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_LITERAL_TEXT else text[:_MAX_LITERAL_TEXT - 3] + "..."


def _operand_text(value: Any) -> str:
    """How an operand shows inside a binary expression (Ray's inline display): a binary
    expression in parentheses, a plain value as its repr."""
    if not isinstance(value, Expr):
        return _literal_text(value)
    return f"({value._text})" if value._binary else value._text


def _binary_text(left: Any, symbol: str, right: Any) -> str:
    return f"{_operand_text(left)} {symbol} {_operand_text(right)}"


def _binary(fn: Callable[[Any, Any], Any], symbol: str, reverse: bool = False) -> Callable:
    def method(self: Expr, other: Any) -> Expr:
        a, b = (_raw(other), self._expr) if reverse else (self._expr, _raw(other))
        if not isinstance(a, pc.Expression):
            a = pc.scalar(a)
        udfs = self._udfs + (other._udfs if isinstance(other, Expr) else ())
        text = _binary_text(other, symbol, self) if reverse else \
            _binary_text(self, symbol, other)
        return Expr(fn(a, b), udfs=udfs, text=text, binary=True)

    return method


def _add(reverse: bool = False) -> Callable:
    """`+`; with a Python string on the other side it concatenates, as in Ray."""
    plain = _binary(lambda a, b: pc.add(a, b), "+", reverse)

    def method(self: Expr, other: Any) -> Expr:
        if isinstance(other, str):
            a, b = (pc.scalar(other), self._expr) if reverse else (self._expr,
                                                                    pc.scalar(other))
            text = _binary_text(other, "+", self) if reverse else \
                _binary_text(self, "+", other)
            return self._then(pc.binary_join_element_wise(a, b, ""), text=text, binary=True)
        return plain(self, other)

    return method


def _unary(kernel: str) -> Callable[[Expr], Expr]:
    def method(self: Expr) -> Expr:
        return self._then(getattr(pc, kernel)(self._expr), text=self._call_text(kernel))

    method.__doc__ = f"pyarrow's `{kernel}` of this expression."
    return method


class Expr:
    """A column expression (Ray Data's `Expr`)."""

    __slots__ = ("_binary", "_expr", "_name", "_text", "_udfs")

    def __init__(self, expr: pc.Expression, name: str | None = None,
                 udfs: tuple[_UDFCall, ...] = (), text: str | None = None,
                 binary: bool = False) -> None:
        self._expr = expr
        self._name = name
        self._udfs = udfs  # the UDF calls whose result columns the expression reads
        # Ray's one-line display (`(col('a') > 1) & (col('b') == 'x')`), shown in plans.
        self._text = text if text is not None else str(expr)
        self._binary = binary

    def _then(self, expr: pc.Expression, name: str | None = None, *, text: str,
              binary: bool = False) -> Expr:
        return Expr(expr, name, self._udfs, text, binary)

    def _call_text(self, fn: str, *args: Any) -> str:
        inner = ", ".join([self._text, *(_literal_text(a) for a in args)])
        return f"{fn}({inner})"

    def _suffix_text(self, suffix: str) -> str:
        own = f"({self._text})" if self._binary else self._text
        return f"{own}{suffix}"

    # Arithmetic, comparison and boolean operators build new expressions.
    __add__ = _add()
    __radd__ = _add(reverse=True)
    __sub__ = _binary(lambda a, b: pc.subtract(a, b), "-")
    __rsub__ = _binary(lambda a, b: pc.subtract(a, b), "-", reverse=True)
    __mul__ = _binary(lambda a, b: pc.multiply(a, b), "*")
    __rmul__ = _binary(lambda a, b: pc.multiply(a, b), "*", reverse=True)
    __truediv__ = _binary(lambda a, b: pc.divide(a, b), "/")
    __rtruediv__ = _binary(lambda a, b: pc.divide(a, b), "/", reverse=True)
    __floordiv__ = _binary(lambda a, b: pc.floor(pc.divide(a, b)), "//")
    __mod__ = _binary(lambda a, b: pc.subtract(a, pc.multiply(pc.floor(pc.divide(a, b)), b)),
                      "%")
    __pow__ = _binary(lambda a, b: pc.power(a, b), "pow")
    __eq__ = _binary(lambda a, b: pc.equal(a, b), "==")  # type: ignore[assignment]
    __ne__ = _binary(lambda a, b: pc.not_equal(a, b), "!=")  # type: ignore[assignment]
    __lt__ = _binary(lambda a, b: pc.less(a, b), "<")
    __le__ = _binary(lambda a, b: pc.less_equal(a, b), "<=")
    __gt__ = _binary(lambda a, b: pc.greater(a, b), ">")
    __ge__ = _binary(lambda a, b: pc.greater_equal(a, b), ">=")
    __and__ = _binary(lambda a, b: pc.and_kleene(a, b), "&")
    __rand__ = _binary(lambda a, b: pc.and_kleene(a, b), "&", reverse=True)
    __or__ = _binary(lambda a, b: pc.or_kleene(a, b), "|")
    __ror__ = _binary(lambda a, b: pc.or_kleene(a, b), "|", reverse=True)
    __xor__ = _binary(lambda a, b: pc.xor(a, b), "xor")

    def __invert__(self) -> Expr:
        return self._then(pc.invert(self._expr), text="~" + self._suffix_text(""))

    def __neg__(self) -> Expr:
        return self._then(pc.negate(self._expr), text=self._call_text("neg"))

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
        return self._then(self._expr.is_null(), text=self._suffix_text(".is_null()"))

    def is_not_null(self) -> Expr:
        """True where the value is not null."""
        return self._then(self._expr.is_valid(), text=self._suffix_text(".is_not_null()"))

    def is_in(self, values: list | Expr) -> Expr:
        """True where the value is one of `values`."""
        return self._then(self._expr.isin(_values(values)),
                          text=_binary_text(self, "in", values), binary=True)

    def not_in(self, values: list | Expr) -> Expr:
        """True where the value is none of `values`."""
        return self._then(pc.invert(self._expr.isin(_values(values))),
                          text=_binary_text(self, "not in", values), binary=True)

    def cast(self, target: Any) -> Expr:
        """The value converted to `target` (a pyarrow type)."""
        return self._then(pc.cast(self._expr,
                                  getattr(target, "to_arrow_dtype", lambda: target)()),
                          text=self._call_text("cast", target))

    def round(self, ndigits: int = 0) -> Expr:
        return self._then(pc.round(self._expr, ndigits), text=self._call_text("round", ndigits))

    def log(self, base: float | None = None) -> Expr:
        return self._then(pc.ln(self._expr) if base is None else pc.logb(self._expr, base),
                          text=self._call_text("log", *(() if base is None else (base,))))

    def power(self, exponent: Any) -> Expr:
        return self ** exponent

    def alias(self, name: str) -> Expr:
        """The same expression, output under `name`."""
        return self._then(self._expr, name, text=self._suffix_text(f".alias({name!r})"))

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
    return Expr(pc.field(name), name, text=f"col({name!r})")


def lit(value: Any) -> Expr:
    """A constant."""
    return Expr(pc.scalar(value), text=_literal_text(value))


class _MonotonicallyIncreasingId(Expr):
    """`monotonically_increasing_id()`: computed by the task, not by pyarrow."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None, text="monotonically_increasing_id()")

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


_udf_ids = itertools.count()


class _UDFCall:
    """One call of a `udf` function on expressions: computed into a column of its own
    (`column`) before the expressions that use it."""

    __slots__ = ("args", "column", "dtype", "fn", "kwargs")

    def __init__(self, fn: Callable, args: list[Expr], kwargs: dict[str, Expr],
                 dtype: Any) -> None:
        self.fn, self.args, self.kwargs, self.dtype = fn, args, kwargs, dtype
        self.column = f"__ember_udf_{next(_udf_ids)}"


def _as_expr(value: Any) -> Expr:
    return value if isinstance(value, Expr) else lit(value)


def udf(return_dtype: Any) -> Callable[[Callable], Callable[..., Expr]]:
    """Make `fn` (pyarrow arrays in, an array of `return_dtype` out) callable on
    expressions: `@udf(DataType.int64()) def add_one(x): return pc.add(x, 1)`, then
    `ds.with_column("y", add_one(col("x")) * 2)`."""

    def wrap(fn: Callable) -> Callable[..., Any]:
        if inspect.isclass(fn):  # a callable class: its instances are the UDFs
            cls = fn

            def construct(*cargs: Any, **ckwargs: Any) -> Callable[..., Expr]:
                return _caller(_LazyInstance(cls, cargs, ckwargs), return_dtype)

            return construct
        return functools.wraps(fn)(_caller(fn, return_dtype))

    return wrap


def _caller(fn: Callable, return_dtype: Any) -> Callable[..., Expr]:
    def call(*args: Any, **kwargs: Any) -> Expr:
        node = _UDFCall(fn, [_as_expr(a) for a in args],
                        {k: _as_expr(v) for k, v in kwargs.items()}, return_dtype)
        deps = tuple(u for a in (*node.args, *node.kwargs.values()) for u in a._udfs)
        fn_name = getattr(fn, "__name__", type(fn).__name__)
        texts = [a._text for a in node.args] + [f"{k}={v._text}" for k, v in node.kwargs.items()]
        return Expr(pc.field(node.column), udfs=(*deps, node),
                    text=f"{fn_name}({', '.join(texts)})")

    return call


class _LazyInstance:
    """A callable class UDF with its constructor arguments: built once where it runs
    (on first use in a task or pool actor), then keeps its state across batches."""

    def __init__(self, cls: type, args: tuple, kwargs: dict) -> None:
        self.cls, self.args, self.kwargs = cls, args, kwargs
        self.__name__ = cls.__name__
        self._instance: Any = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_instance": None}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._instance is None:
            self._instance = self.cls(*self.args, **self.kwargs)
        return self._instance(*args, **kwargs)


def _evaluate(expr: Expr, table: Any) -> Any:
    """The expression's values over `table` (a pyarrow Table), UDF calls included."""
    import pyarrow.dataset as pads

    table = _with_udf_columns(table, expr._udfs)
    return pads.dataset(table).to_table(columns={"__value": expr._expr}).column("__value")


def _with_udf_columns(table: Any, calls: tuple[_UDFCall, ...]) -> Any:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    for node in calls:  # in dependency order: a call's arguments' calls come first
        if node.column in table.column_names:
            continue
        args = [_evaluate(a, table) for a in node.args]
        kwargs = {k: _evaluate(v, table) for k, v in node.kwargs.items()}
        out = node.fn(*args, **kwargs)
        if inspect.iscoroutine(out) or inspect.isasyncgen(out):
            from ember.data._transforms import _drain_async

            for value in _drain_async(out):  # an async generator gives its last value
                result = value
            out = result
        if not isinstance(out, pd.Series | np.ndarray | pa.Array | pa.ChunkedArray):
            raise TypeError(
                f"UDF '{getattr(node.fn, '__name__', node.fn)}' returned invalid type "
                f"{type(out).__name__}. Expected type (pandas.Series, numpy.ndarray, "
                "pyarrow.Array, pyarrow.ChunkedArray)")
        if not isinstance(out, pa.Array | pa.ChunkedArray):
            out = pa.array(out)
        target = node.dtype.to_arrow_dtype() if hasattr(node.dtype, "to_arrow_dtype") \
            else node.dtype
        if target is not None and out.type != target:
            out = out.cast(target)
        table = table.append_column(node.column, out)
    return table


class _UDFColumn:
    """Evaluates an expression with UDF calls over a batch (an Arrow table)."""

    def __init__(self, expr: Expr) -> None:
        self.expr = expr

    def __call__(self, table: Any) -> Any:
        return _evaluate(self.expr, table)
