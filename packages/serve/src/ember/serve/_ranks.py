"""Replica ranks (Ray's `ReplicaRank`): the controller's bookkeeping.

Each replica of a deployment holds a rank 0..N-1, a node rank (its node's number among
the nodes the deployment's replicas run on) and a local rank (its number among the
replicas on its node). A new replica takes the lowest free ranks, so the replacement of
a crashed replica takes the crashed one's; ranks are freed when a replica is gone, and
made contiguous again once the deployment is healthy (after a downscale).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["compact", "lowest_free", "place_on_node"]


def lowest_free(taken: Iterable[int]) -> int:
    """The smallest rank >= 0 not in `taken`."""
    used = set(taken)
    n = 0
    while n in used:
        n += 1
    return n


def place_on_node(r: Any, replicas: list[Any]) -> None:
    """Give `r` (whose node_id is known) its node rank and local rank."""
    others = [x for x in replicas if x is not r and x.node_id and x.node_rank >= 0]
    same = [x for x in others if x.node_id == r.node_id]
    r.node_rank = same[0].node_rank if same else lowest_free(x.node_rank for x in others)
    r.local_rank = lowest_free(x.local_rank for x in same)


def compact(replicas: list[Any]) -> None:
    """Renumber so that ranks are 0..N-1 (and node and local ranks contiguous), moving
    only the replicas whose numbers lie outside the range."""
    _renumber(replicas, "rank")
    placed = [r for r in replicas if r.node_id and r.node_rank >= 0]
    nodes: dict[str, list[Any]] = {}
    for r in placed:
        nodes.setdefault(r.node_id, []).append(r)
    node_ranks = {node: group[0].node_rank for node, group in nodes.items()}
    free = sorted(set(range(len(nodes))) - set(node_ranks.values()))
    for node in sorted(nodes, key=lambda n: node_ranks[n]):
        if node_ranks[node] >= len(nodes):
            node_ranks[node] = free.pop(0)
    for node, group in nodes.items():
        for r in group:
            r.node_rank = node_ranks[node]
        _renumber(group, "local_rank")


def _renumber(items: list[Any], attr: str) -> None:
    n = len(items)
    seen: set[int] = set()
    moving = []
    for r in sorted(items, key=lambda x: getattr(x, attr)):
        value = getattr(r, attr)
        if 0 <= value < n and value not in seen:
            seen.add(value)
        else:
            moving.append(r)
    free = sorted(set(range(n)) - seen)
    for r, value in zip(moving, free, strict=True):
        setattr(r, attr, value)
