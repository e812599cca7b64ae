"""Utilities on top of the core API: actor pools, queues, placement groups, state, …"""

from __future__ import annotations

from typing import Any

from ember.util.actor_pool import ActorPool
from ember.util.placement_group import (
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

__all__ = [
    "ActorPool",
    "PlacementGroup",
    "get_current_placement_group",
    "get_placement_group",
    "get_node_ip_address",
    "inspect_serializability",
    "list_named_actors",
    "placement_group",
    "placement_group_table",
    "remove_placement_group",
]


def inspect_serializability(base_obj: Any, name: str | None = None, depth: int = 3,
                            print_file: Any = None) -> tuple[bool, set]:
    """Find which part of an object cannot be pickled; returns (ok, failing members)."""
    import cloudpickle

    failures: set = set()

    def check(obj: Any, label: str, level: int) -> bool:
        try:
            cloudpickle.dumps(obj)
            return True
        except Exception as e:  # noqa: BLE001
            found = False
            if level > 0:
                members = {}
                if hasattr(obj, "__closure__") and obj.__closure__:
                    names = obj.__code__.co_freevars
                    members.update({n: c.cell_contents for n, c in zip(names, obj.__closure__, strict=False)})
                if hasattr(obj, "__dict__"):
                    members.update(vars(obj))
                for k, v in members.items():
                    if not check(v, f"{label}.{k}", level - 1):
                        found = True
            if not found:
                failures.add((label, type(obj).__name__, str(e)))
                print(f"Cannot serialize {label} ({type(obj).__name__}): {e}", file=print_file)
            return False

    ok = check(base_obj, name or getattr(base_obj, "__name__", type(base_obj).__name__), depth)
    return ok, failures


def list_named_actors(all_namespaces: bool = False) -> list:
    """The names of the live named actors in this namespace; with `all_namespaces`, a
    `{"name", "namespace"}` dict for each named actor of the cluster."""
    from ember.runtime_context import get_runtime_context
    from ember.util import state

    rows = [r for r in state.list_actors() if r.get("name") and r.get("state") != "DEAD"]
    if all_namespaces:
        return [{"name": r["name"], "namespace": r["namespace"]} for r in rows]
    namespace = get_runtime_context().namespace
    return [r["name"] for r in rows if r["namespace"] == namespace]


def get_node_ip_address() -> str:
    """The IP address of the node this process runs on (127.0.0.1 unless the node was
    started on another address)."""
    from ember._core.caller import context

    client = context.current_client()
    if client is None:
        return "127.0.0.1"
    return client.node_info().get("node_ip") or "127.0.0.1"
