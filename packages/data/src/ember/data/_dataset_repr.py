"""How a Dataset prints, as Ray Data prints it: the operators still to run, newest first,
each input one level deeper (`+- `), over a line for the data they start from:

    Filter(col('x') > 1)
    +- Dataset(num_rows=10, schema={x: int64})

Sources (reads and in-memory blocks) are not listed; the bottom line gives the rows and
schema known without running anything: those of the source under a chain of one-input
operators, unknown (`?`, `Unknown schema`) over a union, zip or join, as in Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ember.data._logical import InputData, Limit, LogicalOperator, Read
from ember.data.schema import Schema

if TYPE_CHECKING:
    from ember.data.dataset import Dataset

__all__ = ["dataset_repr"]

_LINE_LIMIT = 80  # a longer bottom line puts each field on a line of its own
_MIN_FIELD = 10
_INDENT = " " * 3


def _is_source(op: LogicalOperator) -> bool:
    return isinstance(op, (InputData, Read))


def _op_name(op: LogicalOperator) -> str:
    return f"Limit[limit={op.limit}]" if isinstance(op, Limit) else op.name


def _operator_lines(op: LogicalOperator, depth: int = 0) -> tuple[str, int]:
    """The operators above the sources, depth first, and the deepest level reached
    (a source counts for its level without being printed, as in Ray)."""
    if _is_source(op):
        return "", depth
    text = f"{_op_name(op)}\n" if depth == 0 else \
        f"{' ' * ((depth - 1) * 3)}+- {_op_name(op)}\n"
    deepest = depth
    for child in op.inputs:
        more, child_depth = _operator_lines(child, depth + 1)
        text += more
        deepest = max(deepest, child_depth)
    return text, deepest


def _source_of_chain(op: LogicalOperator) -> LogicalOperator | None:
    """The source under a chain of one-input operators; None past a union/zip."""
    while not _is_source(op):
        if len(op.inputs) != 1:
            return None
        op = op.inputs[0]
    return op


def _fields(schema: Any) -> list[tuple[str, str]]:
    s = Schema(schema)
    return [(n, getattr(t, "__name__", str(t))) for n, t in zip(s.names, s.types, strict=True)]


def dataset_repr(ds: Dataset, rows_of: Any, schema_of: Any) -> str:
    """Ray's text for `ds`; `rows_of(op)`/`schema_of(op)` give a source's rows and schema
    (or None) without running anything."""
    from ember.data.dataset import MaterializedDataset

    plan_text, depth = _operator_lines(ds._plan)
    source = _source_of_chain(ds._plan)
    schema = schema_of(source) if source is not None else None
    count = rows_of(source) if source is not None else None
    fields = _fields(schema) if schema is not None else None
    schema_text = "Unknown schema" if fields is None else \
        "{" + ", ".join(f"{n}: {t}" for n, t in fields) + "}"
    rows = "?" if count is None else count
    blocks = ds.num_blocks() if isinstance(ds, MaterializedDataset) else 0
    blocks_text = f"num_blocks={blocks}, " if blocks else ""
    cls = type(ds).__name__
    line = f"{cls}({blocks_text}num_rows={rows}, schema={schema_text})"
    if len(line) > _LINE_LIMIT:
        pad = _INDENT * depth
        if fields is not None and len(f"{pad}{_INDENT}schema={schema_text}") > _LINE_LIMIT:
            cols = []
            for n, t in fields:
                col = f"{pad}{_INDENT * 2}{n}: {t}"
                if len(col) > _LINE_LIMIT:
                    suffix = f"...: {t}"
                    col = col[:max(_LINE_LIMIT - len(suffix), _MIN_FIELD)] + suffix
                cols.append(col)
            schema_text = "{\n" + ",\n".join(cols) + f"\n{pad}{_INDENT}" + "}"
        blocks_line = f"\n{pad}{_INDENT}num_blocks={blocks}," if blocks else ""
        line = (f"{cls}({blocks_line}\n{pad}{_INDENT}num_rows={rows},"
                f"\n{pad}{_INDENT}schema={schema_text}\n{pad})")
    if depth == 0:
        return plan_text + line
    return plan_text + f"{_INDENT * (depth - 1)}+- {line}"
