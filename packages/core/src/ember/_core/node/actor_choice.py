"""Where an actor that holds no resources goes in a cluster.

As Ray's control store sends an actor whose lifetime resources are empty (a default actor:
1 CPU free to place it, none held) to a random node rather than to its owner's, such
actors go to a random node with room, the creator's included, and so spread over the
cluster instead of piling up where they were created. Tasks, and actors that hold
resources, keep preferring the submitter's node.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any


def holds_nothing(actor: Any) -> bool:
    """A default-scheduled actor (no strategy, affinity or labels) that holds no
    resources for its life."""
    spec = actor.spec
    return ((spec.strategy or "DEFAULT") == "DEFAULT" and not spec.affinity
            and spec.labels is None and not any(v > 0 for v in actor.resources.values()))


def random_node_with_room(scheduler: Any, nodes: Iterable[str],
                          request: dict[str, float]) -> str:
    """One of `nodes` picked at random among those with `request` free now, or ""."""
    room = [n for n in nodes if all(scheduler.available(n).get(k, 0.0) + 1e-9 >= v
                                    for k, v in request.items())]
    return random.choice(room) if room else ""


__all__ = ["holds_nothing", "random_node_with_room"]
