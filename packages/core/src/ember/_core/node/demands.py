"""What waits for resources on a node, per resource shape: the demand `ember status`
reports under "Demands:", as Ray's `ray status` does.

Read under the node's lock (by the heartbeat, or by `ember status` asking an embedded
node): queued tasks and actors that could not be placed yet, grouped by the resources
each asks for, with how many of them wait inside a placement group's bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember._core.node.node_manager import NodeManager

__all__ = ["Demand", "format_demands", "merge_demands", "pending_demands"]


@dataclass(frozen=True)
class Demand:
    """`count` tasks/actors wait for `shape`; `in_placement_groups` of them in a bundle."""

    shape: tuple[tuple[str, float], ...]
    count: int
    in_placement_groups: int = 0


def _add(out: dict, resources: dict[str, float], in_pg: bool) -> None:
    shape = tuple(sorted((k, float(v)) for k, v in resources.items() if v))
    if not shape:  # nothing to wait for (Ray leaves these out too)
        return
    n, pg = out.get(shape, (0, 0))
    out[shape] = (n + 1, pg + int(in_pg))


def pending_demands(node: NodeManager) -> list[Demand]:
    """This node's waiting tasks and actors per shape (call under the node's lock)."""
    out: dict[tuple, tuple[int, int]] = {}
    for queue in node.task_manager.queues.values():
        for task in queue:
            _add(out, task.resources, task.spec.pg is not None)
    for actor in node.actor_manager.pending_actors:
        in_pg = actor.pg is not None
        _add(out, actor.resources if in_pg else actor.placement_resources, in_pg)
    return [Demand(shape, n, pg) for shape, (n, pg) in out.items()]


def merge_demands(parts: list[list[Demand]]) -> list[Demand]:
    """Several nodes' demands summed per shape, in first-seen order."""
    out: dict[tuple, tuple[int, int]] = {}
    for part in parts:
        for d in part:
            n, pg = out.get(d.shape, (0, 0))
            out[d.shape] = (n + d.count, pg + d.in_placement_groups)
    return [Demand(shape, n, pg) for shape, (n, pg) in out.items()]


def format_demands(demands: list[Demand]) -> list[str]:
    """Ray's lines: ` {'CPU': 1.0}: 2+ pending tasks/actors (1+ using placement groups)`."""
    lines = []
    for d in demands:
        line = f" {dict(d.shape)}: {d.count}+ pending tasks/actors"
        if d.in_placement_groups:
            line += f" ({d.in_placement_groups}+ using placement groups)"
        lines.append(line)
    return lines
