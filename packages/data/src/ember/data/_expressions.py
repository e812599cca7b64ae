"""Parse filter expressions like "age > 30 and city == 'Oslo'" into pyarrow expressions.

Python syntax: comparisons (chains too), and/or/not, & | ~, arithmetic, `in`/`not in`
with a literal list, and the calls is_null(x), is_valid(x) / is_not_null(x). Column
names are bare or dotted identifiers (`sepal.length`, as Ray reads them), or
col("name with spaces"). Pyarrow expressions can be
pushed into Parquet reads, so a string filter right after read_parquet prunes row groups.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

import pyarrow.compute as pc

__all__ = ["parse_expression"]

_CMP = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.BitAnd: operator.and_, ast.BitOr: operator.or_}


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError as e:
        raise ValueError(f"Expected a literal, got {ast.unparse(node)!r}.") from e


def _convert(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _convert(node.body)
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return pc.field(node.id)
    if isinstance(node, ast.Attribute):  # a dotted column name: `sepal.length`
        return pc.field(_dotted(node))
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BoolOp):
        values = [_convert(v) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.UnaryOp):
        operand = _convert(node.operand)
        if isinstance(node.op, ast.Not | ast.Invert):
            return ~operand
        if isinstance(node.op, ast.USub):
            return -operand if not isinstance(operand, pc.Expression) else \
                pc.negate(operand)
        raise ValueError(f"Unsupported operator in {ast.unparse(node)!r}.")
    if isinstance(node, ast.BinOp):
        op = _BIN.get(type(node.op))
        if op is None:
            raise ValueError(f"Unsupported operator in {ast.unparse(node)!r}.")
        return op(_convert(node.left), _convert(node.right))
    if isinstance(node, ast.Compare):
        left = _convert(node.left)
        out = None
        for op_node, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op_node, ast.In | ast.NotIn):
                values = _literal(comp)
                term = pc.field(node.left.id).isin(list(values)) \
                    if isinstance(node.left, ast.Name) else left.isin(list(values))
                if isinstance(op_node, ast.NotIn):
                    term = ~term
                right = None
            else:
                fn = _CMP.get(type(op_node))
                if fn is None:
                    raise ValueError(f"Unsupported comparison in {ast.unparse(node)!r}.")
                right = _convert(comp)
                term = fn(left, right)
            out = term if out is None else (out & term)
            left = right
        return out
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name == "col" and len(node.args) == 1:
            return pc.field(_literal(node.args[0]))
        if name == "is_null" and len(node.args) == 1:
            return _convert(node.args[0]).is_null()
        if name in ("is_valid", "is_not_null") and len(node.args) == 1:
            return _convert(node.args[0]).is_valid()
    raise ValueError(f"Unsupported filter expression: {ast.unparse(node)!r}.")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise ValueError(f"Unsupported filter expression: {ast.unparse(node)!r}.")


def parse_expression(expr: Any) -> pc.Expression:
    """A pyarrow expression for `expr`: a string, an `ember.data.expressions.Expr`, or a
    pyarrow expression (returned unchanged)."""
    to_pyarrow = getattr(expr, "to_pyarrow", None)
    if callable(to_pyarrow):
        expr = to_pyarrow()
    if isinstance(expr, pc.Expression):
        return expr
    if not isinstance(expr, str):
        raise TypeError(f"expr must be a string or a pyarrow Expression, got "
                        f"{type(expr).__name__}.")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"Invalid syntax in the expression {expr!r}: {e.msg}.") from e
    out = _convert(tree)
    if not isinstance(out, pc.Expression):
        raise ValueError(f"Filter expression {expr!r} does not refer to any column.")
    return out
