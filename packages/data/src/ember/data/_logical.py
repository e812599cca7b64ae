"""The logical plan: what a Dataset computes, as an immutable tree of operators.

Transforms build new operators over old ones; nothing runs until a consumer asks. The
optimizer rewrites the tree and the planner turns it into physical operators.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ember.data._metadata import RefBundle
from ember.data._transforms import Stage

__all__ = [
    "AllToAll",
    "AllToAllSpec",
    "Compute",
    "InputData",
    "Join",
    "Limit",
    "LogicalOperator",
    "MapOp",
    "Read",
    "Union",
    "Zip",
    "walk",
]


class LogicalOperator:
    """A node of the plan. `name` is what progress bars and stats show."""

    name: str = "Op"
    inputs: list[LogicalOperator]

    def __init__(self, name: str, inputs: list[LogicalOperator]) -> None:
        self.name = name
        self.inputs = inputs

    def with_inputs(self, inputs: list[LogicalOperator]) -> LogicalOperator:
        """A shallow copy over different inputs (the optimizer never mutates)."""
        new = copy.copy(self)
        new.inputs = list(inputs)
        return new

    def __repr__(self) -> str:
        inner = ", ".join(repr(i) for i in self.inputs)
        return f"{self.name}({inner})" if inner else self.name


@dataclass
class Compute:
    """Where a map runs: stateless tasks, or an actor pool of min..max actors."""

    actors: bool = False
    min_size: int = 1
    max_size: int | None = None  # tasks: cap on tasks in flight (None: from CPUs)
    max_tasks_in_flight_per_actor: int | None = None

    def same_kind(self, other: Compute) -> bool:
        return self.actors == other.actors


class InputData(LogicalOperator):
    """Blocks already in the object store (from_* creators and materialized datasets)."""

    def __init__(self, bundles: list[RefBundle], name: str = "Input") -> None:
        super().__init__(name, [])
        self.bundles = bundles


class Read(LogicalOperator):
    """Read through a Datasource; projection, filters and limits may be pushed into it."""

    def __init__(self, datasource: Any, parallelism: int, remote_args: dict,
                 concurrency: int | None = None, name: str | None = None) -> None:
        super().__init__(name or f"Read{datasource.get_name()}", [])
        self.datasource = datasource
        self.parallelism = parallelism
        self.remote_args = remote_args
        self.concurrency = concurrency


class MapOp(LogicalOperator):
    """A map-like operator: its stages fuse with neighbours' into one task.

    row_preserving: one output row per input row in order (limit may move below it).
    projection: for select/drop/rename operators, what they keep (pushdown into reads).
    filter_expr: a pyarrow expression for expression filters (predicate pushdown).
    """

    def __init__(self, name: str, input_op: LogicalOperator, stages: list[Stage], *,
                 compute: Compute | None = None, remote_args: dict | None = None,
                 min_rows_per_bundle: int | None = None, row_preserving: bool = False,
                 projection: dict | None = None, filter_expr: Any = None) -> None:
        super().__init__(name, [input_op])
        self.stages = stages
        self.compute = compute or Compute()
        self.remote_args = dict(remote_args or {})
        self.min_rows_per_bundle = min_rows_per_bundle
        self.row_preserving = row_preserving
        self.projection = projection
        self.filter_expr = filter_expr


class Limit(LogicalOperator):
    def __init__(self, input_op: LogicalOperator, limit: int) -> None:
        super().__init__(f"Limit[{limit}]", [input_op])
        self.limit = limit


@dataclass
class AllToAllSpec:
    """A barrier operator's work: fn(bundles, ctx) yields output bundles."""

    fn: Callable[..., Any]
    args: dict = field(default_factory=dict)


class AllToAll(LogicalOperator):
    """Needs every input block before it can emit (repartition, shuffle, sort, groupby)."""

    def __init__(self, name: str, input_op: LogicalOperator, fn: Callable[..., Any],
                 **args: Any) -> None:
        super().__init__(name, [input_op])
        self.spec = AllToAllSpec(fn, args)


class Join(AllToAll):
    """Dataset.join: two inputs; planned as a JoinOperator (streams a broadcast side)."""

    def __init__(self, name: str, left: LogicalOperator, right: LogicalOperator,
                 fn: Callable[..., Any], **args: Any) -> None:
        super().__init__(name, left, fn, **args)
        self.inputs = [left, right]


class Union(LogicalOperator):
    def __init__(self, inputs: list[LogicalOperator]) -> None:
        super().__init__("Union", inputs)


class Zip(LogicalOperator):
    def __init__(self, inputs: list[LogicalOperator]) -> None:
        super().__init__("Zip", inputs)


def walk(op: LogicalOperator) -> list[LogicalOperator]:
    """Every operator below and including `op`, inputs first."""
    out: list[LogicalOperator] = []
    seen: set[int] = set()

    def visit(o: LogicalOperator) -> None:
        if id(o) in seen:
            return
        seen.add(id(o))
        for i in o.inputs:
            visit(i)
        out.append(o)

    visit(op)
    return out
