"""Records the node manager keeps for tasks, actors and placement groups."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from ember._core.common.specs import ActorSpec, TaskSpec

# Task states
WAITING = "PENDING_ARGS_AVAIL"
QUEUED = "PENDING_NODE_ASSIGNMENT"
RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"

# Actor states (Ray's names)
DEPENDENCIES_UNREADY = "DEPENDENCIES_UNREADY"
PENDING_CREATION = "PENDING_CREATION"
ALIVE = "ALIVE"
RESTARTING = "RESTARTING"
DEAD = "DEAD"

# Ray's reserved concurrency group: its calls never wait behind the actor's own work.


class Task:
    __slots__ = ("spec", "task_id", "caller", "deps", "pins", "missing", "retries_left",
                 "worker", "state", "cancelled", "actor", "parent", "env_key", "gen",
                 "resources", "name", "sched_key", "gpu_ids", "remote_node", "owner",
                 "lineage", "remote_left", "created", "started", "ended", "worker_pid",
                 "ran_until")

    def __init__(self, spec: TaskSpec, caller: int) -> None:
        self.spec = spec
        self.task_id: bytes = spec.task_id
        self.caller = caller
        self.deps: list[bytes] = spec.deps
        self.pins: list[bytes] = self.deps + spec.contained
        self.missing = 0
        self.retries_left: int = spec.max_retries
        self.worker = None
        self.state = WAITING
        self.cancelled = False
        self.actor: Actor | None = None
        self.parent: bytes | None = None
        self.env_key: str = spec.env_key
        self.gen: GenState | None = None
        self.resources: dict[str, float] = spec.resources
        self.name: str = spec.name
        self.sched_key: Any = None
        self.gpu_ids: list[int] = []
        self.remote_node = ""  # we own it and it runs on that node
        self.owner: tuple[str, str] | None = None  # (node, address) that owns it
        # Arguments kept (referenced) after it finished, to run it again if a result that
        # is only in a peer's store is lost with that peer; how many such results remain.
        self.lineage: list[bytes] = []
        self.remote_left = 0
        # Wall-clock times (s) for the state API and the timeline: submitted, sent to a
        # worker (or a peer), finished; and the pid of the worker that ran it.
        self.created = time.time()
        self.started = 0.0
        self.ended = 0.0
        self.ran_until = 0.0  # when the worker finished it, as the worker reported
        self.worker_pid = 0


class GenState:
    """Progress of a streaming generator task, read by the caller's ObjectRefGenerator."""

    __slots__ = ("produced", "done", "waiters", "dropped_from")

    def __init__(self) -> None:
        self.produced = 0
        self.done = False
        self.waiters: list[Any] = []
        self.dropped_from: int | None = None


class Actor:
    __slots__ = ("actor_id", "spec", "caller", "state", "worker", "restarts_left",
                 "num_restarts", "no_restart", "submitted", "inflight", "death_cause",
                 "name", "namespace", "detached", "resources", "env_key", "class_name",
                 "out_of_scope", "pid", "missing", "node_id", "pg", "gpu_ids",
                 "remote_node", "owner", "proxy", "owner_node", "unschedulable",
                 "placement_resources", "constructed")

    def __init__(self, spec: ActorSpec, caller: int) -> None:
        self.actor_id: bytes = spec.actor_id
        self.spec = spec
        self.caller = caller
        self.state = DEPENDENCIES_UNREADY
        self.worker = None
        self.restarts_left: int = spec.max_restarts
        self.num_restarts = 0
        self.no_restart = False
        self.submitted: deque[Task] = deque()  # not yet sent to the worker, in order
        self.inflight: dict[bytes, Task] = {}  # sent, not finished
        self.death_cause = ""
        self.name: str | None = spec.name
        self.namespace: str = spec.namespace or ""
        self.detached = spec.lifetime == "detached"
        self.resources: dict[str, float] = spec.resources or {}
        # What must be free where it is placed (a default actor: 1 CPU it does not hold).
        self.placement_resources = self.resources
        if spec.default_resources and self.resources.get("CPU", 0.0) < 1.0:
            self.placement_resources = {**self.resources, "CPU": 1.0}
        self.env_key: str = spec.env_key
        self.class_name: str = spec.class_name
        self.out_of_scope = False
        self.pid = 0
        self.missing = 0
        self.node_id = ""
        self.pg = spec.pg
        self.gpu_ids: list[int] = []
        self.remote_node = ""  # we own it (or call it, as a proxy) and it lives there
        self.owner: tuple[str, str] | None = None  # (node, address) that owns it
        self.proxy = False  # only stands for an actor another node owns, to call it
        self.owner_node = ""  # a proxy's actor's owner
        self.unschedulable = False  # died because no node may ever host it
        self.constructed = False  # this instance's constructor has returned


class PlacementGroup:
    __slots__ = ("pg_id", "bundles", "strategy", "name", "state", "nodes", "waiters",
                 "lifetime", "held_for", "reserving", "why_pending", "not_before",
                 "attempt", "creator", "job", "infeasible", "tries", "submitted",
                 "latency_ms", "seen", "soft_target", "selectors", "used", "gpu_pools",
                 "any_taken")

    def __init__(self, pg_id: str, bundles: list[dict], strategy: str, name: str,
                 lifetime: str | None) -> None:
        self.pg_id = pg_id
        self.bundles = bundles
        self.strategy = strategy
        self.name = name
        self.state = "PENDING"
        self.nodes: list[str] = []
        self.waiters: list[Any] = []
        self.lifetime = lifetime
        self.held_for = ""  # the owner's node id when this node only holds bundles of it
        self.reserving = False  # asking peers to hold their bundles
        self.why_pending = ""
        self.infeasible = False  # no set of alive nodes can ever hold it (it waits)
        self.not_before = 0.0  # monotonic time before which a refused group is not retried
        self.attempt = 0  # counts placements across nodes; peers match returns against it
        self.creator: int | None = None  # the client that created it
        self.job = ""  # the job it goes with ("" if detached or held for a peer)
        self.tries = 0  # scheduling attempts (Ray's stats.scheduling_attempt)
        self.submitted = time.monotonic()
        self.latency_ms = 0.0  # from creation to placed (Ray's end_to_end_creation_latency)
        self.seen: Any = None  # the nodes' free resources at its last failed attempt
        self.soft_target = ""  # STRICT_PACK: the node preferred while it has room
        self.selectors: list[dict[str, str]] = []  # per bundle: labels its node must match
        # bundle index (-1: any) -> what the work in it holds, "bundle" counting the holders
        self.used: dict[int, dict[str, float]] = {}
        self.gpu_pools: dict[int, Any] = {}  # bundle index -> GpuIds it holds on this node
        self.any_taken: list[tuple[int, dict]] = []  # (bundle, request) given to index -1


def taken_name_message(name: str | None, namespace: str | None) -> str:
    """Ray's words for creating an actor under a name a live actor has."""
    return (f"The name {name} (namespace={namespace}) is already taken. Please use a "
            f"different name or get the existing actor using "
            f"ember.get_actor({name!r}, namespace={namespace!r}).")



def actor_state_row(actor_id: bytes, class_name: str, state: str, name: str, namespace: str,
                    pid: int, num_restarts: int, node_id: str, death_cause: str,
                    is_detached: bool, resources: Mapping[str, float]) -> dict:
    """One actor as a state-API row (the fields of Ray's ActorState that ember fills),
    whether the actor lives in this node's table or only in the control store."""
    return {"actor_id": actor_id.hex(), "class_name": class_name, "state": state,
            "name": name, "namespace": namespace, "pid": pid, "num_restarts": num_restarts,
            "node_id": node_id, "death_cause": death_cause or None,
            "is_detached": is_detached, "required_resources": dict(resources)}
