"""Runs a deployment's custom autoscaling policy on the controller (see
`autoscaling_policy`): builds the AutoscalingContext of each tick, keeps the policy's
state and the replicas' custom metrics, and applies the config's factors, bounds and
delays to the answer."""

from __future__ import annotations

import math
import time
import traceback
from collections import deque
from typing import Any

from ember.serve._autoscaling import AutoscalingState, scaled
from ember.serve._ids import DeploymentID, ReplicaID
from ember.serve.autoscaling_policy import AutoscalingContext, TimeStampedValue

_AGGREGATE = {"mean": lambda v: sum(v) / len(v), "max": max, "min": min}


class PolicyRunner:
    """One deployment's custom policy, its state and its custom metrics."""

    def __init__(self, autoscaler: AutoscalingState, deployment_id: DeploymentID) -> None:
        self.autoscaler = autoscaler
        self.deployment_id = deployment_id
        self.policy: Any = None
        self.policy_state: dict[str, Any] = {}
        self.last_scale_up: float | None = None
        self.last_scale_down: float | None = None
        self.samples: dict[str, dict[str, deque[TimeStampedValue]]] = {}

    def replica_id(self, unique_id: str) -> ReplicaID:
        return ReplicaID(unique_id, self.deployment_id)

    def record_stats(self, replica_id: str, stats: Any) -> None:
        """Keep a replica's `record_autoscaling_stats()` answer for the look-back window."""
        if not isinstance(stats, dict):
            return
        now = time.time()
        for name, value in stats.items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            self.samples.setdefault(name, {}).setdefault(replica_id, deque()).append(
                TimeStampedValue(now, v))

    def _metrics(self, running: list[str]) -> tuple[dict, dict]:
        cfg = self.autoscaler.cfg
        cutoff = time.time() - cfg.look_back_period_s
        agg = _AGGREGATE[cfg.aggregation_function]
        aggregated: dict[str, dict[ReplicaID, float]] = {}
        raw: dict[str, dict[ReplicaID, list[TimeStampedValue]]] = {}
        for name, per_replica in self.samples.items():
            for rid in list(per_replica):
                q = per_replica[rid]
                while q and q[0].timestamp < cutoff:
                    q.popleft()
                if rid not in running or not q:
                    if rid not in running:
                        del per_replica[rid]
                    continue
                key = self.replica_id(rid)
                raw.setdefault(name, {})[key] = list(q)
                aggregated.setdefault(name, {})[key] = agg([s.value for s in q])
        return aggregated, raw

    def context(self, total: float, queued: float, running: list[str],
                target: int) -> AutoscalingContext:
        """What the policy sees of this deployment now."""
        cfg = self.autoscaler.cfg
        aggregated, raw = self._metrics(running)
        return AutoscalingContext(
            deployment_id=self.deployment_id, deployment_name=self.deployment_id.name,
            app_name=self.deployment_id.app_name, current_num_replicas=len(running),
            target_num_replicas=target, running_replicas=[self.replica_id(r) for r in running],
            total_num_requests=total, total_queued_requests=queued,
            aggregated_metrics=aggregated, raw_metrics=raw,
            capacity_adjusted_min_replicas=cfg.min_replicas,
            capacity_adjusted_max_replicas=cfg.max_replicas,
            policy_state=dict(self.policy_state), last_scale_up_time=self.last_scale_up,
            last_scale_down_time=self.last_scale_down, current_time=time.time(), config=cfg)

    def cold_start(self, total: float, running: list[str], target: int) -> int | None:
        """The target when no replica runs and requests wait (no policy call then)."""
        cfg = self.autoscaler.cfg
        if not running and total > 0:
            return max(math.ceil(cfg.get_upscaling_factor()), target, cfg.min_replicas)
        return None

    def apply(self, desired: float, state: Any, current: int, target: int,
              now: float) -> int:
        """The policy's answer with the config's factors, bounds and delays applied."""
        if isinstance(state, dict):
            self.policy_state = state
        new = self.autoscaler.delayed(scaled(self.autoscaler.cfg, desired, current),
                                      target, now)
        if new > target:
            self.last_scale_up = time.time()
        elif new < target:
            self.last_scale_down = time.time()
        return new

    def decide(self, total: float, queued: float, running: list[str], target: int,
               now: float) -> int:
        """The deployment's new target replica count (a deployment-level policy)."""
        cold = self.cold_start(total, running, target)
        if cold is not None:
            return cold
        ctx = self.context(total, queued, running, target)
        try:
            if self.policy is None:
                self.policy = self.autoscaler.cfg.policy.get_policy()
            desired, state = self.policy(ctx)
        except Exception:  # noqa: BLE001 - a failing policy keeps the current target
            traceback.print_exc()
            return target
        return self.apply(desired, state, len(running), target, now)
