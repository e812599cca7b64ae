"""One deployment's replicas, reconciled toward its target by the controller.

The controller calls `tick()` often; it starts and stops replicas (each start and stop
is an asyncio task on the controller's loop), runs health checks and gathers metrics
for the autoscaler. Rolling updates start replicas of the new version first and stop
old ones as new ones come up; when the cluster has no room for an extra replica, an old
one is stopped first. A stopped replica leaves the routing table, waits until every
handle has seen that, finishes its ongoing requests, then exits.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import ember
from ember.serve._autoscaling import AutoscalingState
from ember.serve._channel import ChannelAddress
from ember.serve._constants import (
    MAX_CONSECUTIVE_START_FAILURES,
    REPLICA_NAME_PREFIX,
    ROUTING_ACK_TIMEOUT_S,
    SERVE_NAMESPACE,
)
from ember.serve._deployment_actors import DeploymentActors
from ember.serve._ids import DeploymentID
from ember.serve._policy_runner import PolicyRunner
from ember.serve._ranks import compact, lowest_free, place_on_node
from ember.serve._router import ReplicaInfo
from ember.serve.config import AutoscalingConfig

STARTING, RUNNING, STOPPING = "STARTING", "RUNNING", "STOPPING"
_replica_class: Any = None


def _replica_actor_class() -> Any:
    global _replica_class
    if _replica_class is None:
        from ember.serve._replica import ReplicaActor

        _replica_class = ember.remote(ReplicaActor)
    return _replica_class


class ReplicaState:
    """The controller's record of one replica."""

    def __init__(self, version: str) -> None:
        self.replica_id = uuid.uuid4().hex[:8]
        self.version = version
        self.config_version = 0
        self.state = STARTING
        self.actor: Any = None
        self.pid = 0
        self.created = time.monotonic()
        self.next_health = 0.0
        self.health_task: asyncio.Task | None = None
        self.metric: float | None = None
        self.model_ids: frozenset[str] = frozenset()
        self.pending_checked = False
        self.channel: ChannelAddress | None = None
        self.actor_id = ""
        # Its rank (Ray's ReplicaRank) and what the replica was last told (with the
        # world size), see _ranks.py.
        self.rank = -1
        self.node_id = ""
        self.node_rank = -1
        self.local_rank = -1
        self.sent_rank: tuple | None = None
        self.routing_stats: dict | None = None  # record_routing_stats(), for routers

    def rank_fields(self) -> dict:
        return {"rank": self.rank, "node_rank": self.node_rank, "local_rank": self.local_rank}


class DeploymentState:
    """Target and replicas of one deployment of one application."""

    def __init__(self, controller: Any, app_name: str, name: str) -> None:
        self.controller = controller
        self.app_name = app_name
        self.name = name
        self.key = ("replicas", app_name, name)
        self.spec: dict = {}
        self.config: dict = {}
        self.version = ""
        self.config_version = 0
        self.target = 0
        self.replicas: list[ReplicaState] = []
        self.status = "UPDATING"
        self.trigger = "CONFIG_UPDATE_STARTED"
        self.message = ""
        self.start_failures = 0
        self.next_start = 0.0  # backoff after a replica failed to start
        self.unhealthy = False
        self.deleting = False
        self.scaling: str | None = None
        self.autoscaler: AutoscalingState | None = None
        self.policy: PolicyRunner | None = None  # a custom autoscaling policy
        self.app_driven = False  # an application-level policy sets the target
        self.handle_queued: dict[str, tuple[int, float]] = {}
        self.next_metrics = 0.0
        self.metrics_task: asyncio.Task | None = None
        self._routing_sig: Any = None
        self.actors = DeploymentActors(app_name, name)  # deployment-scoped actors
        self.next_routing_stats = 0.0
        self.routing_stats_task: asyncio.Task | None = None

    # -- declared state ---------------------------------------------------------------

    def deploy(self, spec: dict) -> None:
        """Take a new declaration of this deployment (a deploy or redeploy)."""
        config = spec["config"]
        first = not self.spec
        code_changed = spec["version"] != self.version
        self.spec = spec
        if code_changed or config != self.config:
            self.config_version += 1
        self.config = config
        self.version = spec["version"]
        self.deleting = False
        self.scaling = None
        self.start_failures = 0
        self.next_start = 0.0
        self.actors.ensure(config.get("deployment_actors") or [], self.controller.spawn)
        auto = config.get("autoscaling_config")
        if auto:
            cfg = AutoscalingConfig(**auto)
            if self.autoscaler is None or self.autoscaler.cfg != cfg:
                self.autoscaler = AutoscalingState(cfg)
                self.policy = None if cfg.policy.is_default_policy_function() else \
                    PolicyRunner(self.autoscaler, DeploymentID(self.name, self.app_name))
            if first:
                self.target = cfg.initial_replicas if cfg.initial_replicas is not None \
                    else cfg.min_replicas
            else:
                self.target = max(cfg.min_replicas, min(cfg.max_replicas, self.target))
        else:
            self.autoscaler = self.policy = None
            self.target = config["num_replicas"]
        self.status, self.trigger, self.message = "UPDATING", "CONFIG_UPDATE_STARTED", ""

    def delete(self) -> None:
        self.deleting = True
        self.target = 0
        self.autoscaler = self.policy = None

    def gone(self) -> bool:
        if self.deleting and not self.replicas:
            self.actors.stop()
            return True
        return False

    # -- the reconcile step -----------------------------------------------------------

    def tick(self, now: float) -> None:
        self._autoscale(now)
        self._reconcile()
        self._health_checks(now)
        self._collect_metrics(now)
        self._collect_routing_stats(now)
        if not self.deleting:
            self.actors.check(now, self.controller.spawn)
        self._update_status()
        self._sync_ranks()
        self.publish_if_changed()

    def load(self, now: float) -> tuple[float, float, list[str]]:
        """Ongoing requests (replicas plus handle queues), queued ones, running ids."""
        total = sum(r.metric or 0.0 for r in self.replicas if r.state == RUNNING)
        fresh = now - 2.0
        queued = sum(n for n, t in self.handle_queued.values() if t >= fresh)
        running = [r.replica_id for r in self.replicas if r.state == RUNNING]
        return total + queued, queued, running

    def policy_runner(self) -> PolicyRunner | None:
        """The runner that keeps this deployment's policy state and custom metrics
        (made on demand for an application-level policy)."""
        if self.policy is None and self.autoscaler is not None:
            self.policy = PolicyRunner(self.autoscaler, DeploymentID(self.name, self.app_name))
        return self.policy

    def set_target(self, new: int) -> None:
        if new != self.target:
            self.scaling = "UPSCALING" if new > self.target else "DOWNSCALING"
            self.target = new

    def _autoscale(self, now: float) -> None:
        if self.autoscaler is None or self.deleting or self.app_driven:
            return
        total, queued, running = self.load(now)
        if self.policy is not None:
            new = self.policy.decide(total, queued, running, self.target, now)
        else:
            new = self.autoscaler.decide(total, self.target, now)
        if new != self.target:
            self.scaling = "UPSCALING" if new > self.target else "DOWNSCALING"
            self.target = new

    def _reconcile(self) -> None:
        live = [r for r in self.replicas if r.state in (STARTING, RUNNING)]
        new = [r for r in live if r.version == self.version]
        old = [r for r in live if r.version != self.version]
        if self.start_failures >= MAX_CONSECUTIVE_START_FAILURES and not any(
                r.state == RUNNING for r in new):
            for r in new:
                self._stop(r)  # give up until the next deploy
            return
        # Too many of the current version: stop the newest, starting ones first.
        if len(new) > self.target:
            extra = sorted(new, key=lambda r: (r.state == RUNNING, r.created),
                           reverse=False)[:len(new) - self.target]
            for r in extra:
                self._stop(r)
            new = [r for r in new if r not in extra]
        # Too few: start more (with a backoff once constructors have failed).
        if self.target > len(new) and time.monotonic() >= self.next_start:
            for _ in range(self.target - len(new)):
                self._start()
        # Old versions: keep only what covers missing running capacity.
        running_new = sum(1 for r in new if r.state == RUNNING)
        keep = max(0, self.target - running_new)
        if old and keep and self._starved(new):
            keep -= 1  # no room for a new replica until an old one leaves
        for r in sorted(old, key=lambda r: r.created)[:max(0, len(old) - keep)]:
            self._stop(r)
        # Lightweight updates (user_config, max_ongoing_requests, ...) in place.
        for r in new:
            if r.state == RUNNING and r.config_version != self.config_version:
                r.config_version = self.config_version
                self.controller.spawn(self._reconfigure(r))

    def _starved(self, new: list[ReplicaState]) -> bool:
        """A new replica waits for resources that only an old replica can free."""
        if any(r.state == STOPPING and r.version != self.version for r in self.replicas):
            return False
        waiting = [r for r in new if r.state == STARTING and r.actor is not None
                   and time.monotonic() - r.created > 0.5]
        if not waiting:
            return False
        from ember.util import state

        try:
            pending = {a.get("name") for a in state.list_actors()
                       if a.get("state") in ("PENDING_CREATION", "DEPENDENCIES_UNREADY")}
        except Exception:  # noqa: BLE001
            return False
        return any(self.actor_name(r) in pending for r in waiting)

    def actor_name(self, r: ReplicaState) -> str:
        return f"{REPLICA_NAME_PREFIX}::{self.app_name}#{self.name}#{r.replica_id}"

    def _start(self) -> None:
        r = ReplicaState(self.version)
        r.config_version = self.config_version
        r.rank = lowest_free(x.rank for x in self.replicas)
        self.replicas.append(r)
        self.controller.spawn(self._run_start(r))

    def replica_config(self) -> dict:
        return dict(self.config)

    async def _run_start(self, r: ReplicaState) -> None:
        spec = self.spec
        options = {"num_cpus": 1, **(spec.get("ray_actor_options") or {})}
        biggest = max(1000, self.config["max_ongoing_requests"] * 4 + 100)
        try:
            await self.actors.wait_ready()
            r.actor = _replica_actor_class().options(
                name=self.actor_name(r),
                namespace=SERVE_NAMESPACE, lifetime="detached", max_concurrency=biggest,
                **options).remote(self.app_name, self.name, r.replica_id, spec["serialized"])
            r.node_id = await r.actor.node_id.remote()
            place_on_node(r, self.replicas)
            r.sent_rank = (*r.rank_fields().values(), self.target)
            info = await r.actor.initialize.remote({
                **self.replica_config(), "rank": r.rank_fields(), "world_size": self.target})
        except Exception as e:  # noqa: BLE001 - the constructor failed
            if r.state == STOPPING:
                return
            self.start_failures += 1
            self.next_start = time.monotonic() + min(5.0, 0.05 * 2 ** self.start_failures)
            self.message = (f"A replica of deployment {self.name!r} failed to start: "
                            f"{_short(e)}")
            self._remove(r, kill=True)
            return
        finally:
            self.controller.wake()
        if r.state == STOPPING:
            return
        r.pid = info.get("pid", 0)
        r.actor_id = info.get("actor_id", "")
        if info.get("channel"):
            r.channel = ChannelAddress(*info["channel"])
        r.state = RUNNING
        r.next_health = time.monotonic() + self.config["health_check_period_s"]
        self.start_failures = 0
        if self.config_version != r.config_version:
            r.config_version = self.config_version
            self.controller.spawn(self._reconfigure(r))
        self.controller.spawn(self._watch(r))
        self.publish_if_changed()

    async def _watch(self, r: ReplicaState) -> None:
        try:
            await r.actor.watch_for_exit.remote()
        except Exception:  # noqa: BLE001 - the process died
            if r.state == RUNNING:
                self.unhealthy = True
                self.message = (f"Replica {r.replica_id} of deployment {self.name!r} died "
                                "unexpectedly; starting a new one.")
                self._remove(r, kill=True)
                self.controller.wake()

    def _sync_ranks(self) -> None:
        """Keep ranks contiguous once the deployment is healthy (after a downscale) and
        tell running replicas of a changed rank or world size."""
        if self.status == "HEALTHY" and not self.deleting:
            compact(self.replicas)
        for r in self.replicas:
            if r.state != RUNNING:
                continue
            want = (*r.rank_fields().values(), self.target)
            if r.sent_rank != want:
                r.sent_rank = want
                self.controller.spawn(self._send_rank(r))

    async def _send_rank(self, r: ReplicaState) -> None:
        try:
            await r.actor.update_rank.remote(r.rank_fields(), self.target)
        except Exception:  # noqa: BLE001 - a dead replica is replaced with its rank
            pass

    async def _reconfigure(self, r: ReplicaState) -> None:
        try:
            await r.actor.reconfigure.remote(self.replica_config())
        except Exception as e:  # noqa: BLE001
            self.message = f"reconfigure() failed on replica {r.replica_id}: {_short(e)}"
            self.unhealthy = True
            self._stop(r)
        self.publish_if_changed()

    def _stop(self, r: ReplicaState, graceful: bool = True) -> None:
        if r.state == STOPPING:
            return
        was_starting = r.state == STARTING
        r.state = STOPPING
        self.publish_if_changed()
        self.controller.spawn(self._run_stop(r, graceful and not was_starting))

    async def _run_stop(self, r: ReplicaState, graceful: bool) -> None:
        host = self.controller.long_poll
        if graceful:
            await host.wait_acked(self.key, host.version(self.key), ROUTING_ACK_TIMEOUT_S)
            if r.actor is not None:
                timeout = self.config.get("graceful_shutdown_timeout_s", 20.0) + 5.0
                try:
                    await asyncio.wait_for(r.actor.prepare_for_shutdown.remote(),
                                           timeout)
                except Exception:  # noqa: BLE001 - it dies below either way
                    pass
        self._remove(r, kill=True)
        self.controller.wake()

    def _remove(self, r: ReplicaState, kill: bool) -> None:
        if r in self.replicas:
            self.replicas.remove(r)
        r.state = STOPPING
        if kill and r.actor is not None:
            try:
                ember.kill(r.actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.publish_if_changed()

    def stop_all_now(self) -> None:
        """serve.shutdown(): no draining."""
        for r in list(self.replicas):
            self._remove(r, kill=True)
        self.actors.stop()

    # -- health and metrics -----------------------------------------------------------

    def _health_checks(self, now: float) -> None:
        for r in self.replicas:
            if r.state == RUNNING and now >= r.next_health and r.health_task is None:
                r.health_task = self.controller.spawn(self._check(r))

    async def _check(self, r: ReplicaState) -> None:
        try:
            await asyncio.wait_for(r.actor.check_health.remote(),
                                   self.config["health_check_timeout_s"])
            ok, err = True, None
        except Exception as e:  # noqa: BLE001
            ok, err = False, e
        r.health_task = None
        r.next_health = time.monotonic() + self.config["health_check_period_s"]
        if not ok and r.state == RUNNING:
            self.unhealthy = True
            self.message = (f"Replica {r.replica_id} of deployment {self.name!r} failed its "
                            f"health check: {_short(err)}")
            self._stop(r)
            self.controller.wake()

    def _collect_metrics(self, now: float) -> None:
        if self.autoscaler is None or now < self.next_metrics or self.metrics_task is not None:
            return
        self.next_metrics = now + self.autoscaler.cfg.metrics_interval_s
        running = [r for r in self.replicas if r.state == RUNNING]
        if running:
            self.metrics_task = self.controller.spawn(self._gather_metrics(running))

    async def _gather_metrics(self, running: list[ReplicaState]) -> None:
        agg = self.autoscaler.cfg.aggregation_function if self.autoscaler else "mean"
        key = {"mean": "avg", "max": "max", "min": "min"}[agg]
        try:
            results = await asyncio.gather(*[r.actor.get_metrics.remote()
                                             for r in running], return_exceptions=True)
            for r, m in zip(running, results, strict=True):
                if isinstance(m, dict):
                    r.metric = m[key]
            if self.policy is not None:  # custom metrics for a custom policy
                stats = await asyncio.gather(*[
                    r.actor.call_user_hook.remote("record_autoscaling_stats")
                    for r in running], return_exceptions=True)
                for r, st in zip(running, stats, strict=True):
                    if self.policy is not None:
                        self.policy.record_stats(r.replica_id, st)
        finally:
            self.metrics_task = None

    def _collect_routing_stats(self, now: float) -> None:
        """Every `request_routing_stats_period_s`, ask the replicas of a deployment with a
        custom request router for their `record_routing_stats()`."""
        rrc = self.config.get("request_router_config")
        if not rrc or now < self.next_routing_stats or self.routing_stats_task is not None:
            return
        self.next_routing_stats = now + rrc.get("request_routing_stats_period_s", 10.0)
        running = [r for r in self.replicas if r.state == RUNNING]
        if running:
            timeout = rrc.get("request_routing_stats_timeout_s", 30.0)
            self.routing_stats_task = self.controller.spawn(
                self._gather_routing_stats(running, timeout))

    async def _gather_routing_stats(self, running: list[ReplicaState], timeout: float) -> None:
        try:
            results = await asyncio.gather(*[asyncio.wait_for(
                r.actor.call_user_hook.remote("record_routing_stats"), timeout)
                for r in running], return_exceptions=True)
            for r, st in zip(running, results, strict=True):
                if isinstance(st, dict):
                    r.routing_stats = st
            self.publish_if_changed()
        finally:
            self.routing_stats_task = None

    def record_handle_queued(self, handle_id: str, n: int) -> None:
        self.handle_queued[handle_id] = (n, time.monotonic())
        if n == 0:
            self.handle_queued.pop(handle_id, None)

    def record_model_ids(self, replica_id: str, ids: list[str]) -> None:
        for r in self.replicas:
            if r.replica_id == replica_id:
                r.model_ids = frozenset(ids)
        self.publish_if_changed()

    # -- status and routing -----------------------------------------------------------

    def _update_status(self) -> None:
        if self.deleting:
            return
        running_new = [r for r in self.replicas if r.state == RUNNING and r.version == self.version]
        settled = len(running_new) == self.target and len(self.replicas) == self.target
        if self.start_failures >= MAX_CONSECUTIVE_START_FAILURES and not running_new:
            self.status, self.trigger = "DEPLOY_FAILED", "REPLICA_STARTUP_FAILED"
        elif settled:
            self.trigger = {"UPSCALING": "UPSCALE_COMPLETED", "DOWNSCALING":
                            "DOWNSCALE_COMPLETED"}.get(self.scaling or "",
                                                       "CONFIG_UPDATE_COMPLETED")
            self.status, self.scaling, self.unhealthy = "HEALTHY", None, False
            self.message = ""
        elif self.unhealthy:
            self.status, self.trigger = "UNHEALTHY", "HEALTH_CHECK_FAILED"
        elif self.scaling:
            self.status, self.trigger = self.scaling, "AUTOSCALING"
        else:
            self.status = "UPDATING"

    def routing_value(self) -> dict:
        if self.gone():
            return {"exists": False}
        reps = [ReplicaInfo(r.replica_id, r.actor, self.config["max_ongoing_requests"],
                            r.model_ids, r.channel, r.actor_id, r.node_id, r.routing_stats)
                for r in self.replicas if r.state == RUNNING]
        return {"exists": True, "replicas": reps,
                "max_queued_requests": self.config.get("max_queued_requests", -1),
                "request_router": self.config.get("request_router_config")}

    def publish_if_changed(self) -> None:
        if self.gone():
            sig: Any = "gone"
        else:
            sig = (tuple((r.replica_id, r.model_ids, repr(r.routing_stats))
                         for r in self.replicas if r.state == RUNNING),
                   self.config.get("max_ongoing_requests"), self.config.get("max_queued_requests"),
                   repr(self.config.get("request_router_config")))
        if sig != self._routing_sig:
            self._routing_sig = sig
            self.controller.long_poll.publish(self.key, self.routing_value())

    def replica_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.replicas:
            out[r.state] = out.get(r.state, 0) + 1
        return out

    def status_dict(self) -> dict:
        return {"status": self.status, "status_trigger": self.trigger,
                "replica_states": self.replica_counts(), "message": self.message,
                "target_num_replicas": self.target}


def _short(e: BaseException | None) -> str:
    text = str(e) if e is not None else ""
    if "Traceback" in text:
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        text = lines[-1] if lines else text
    return text[:2000]
