"""Application-level autoscaling policies (Ray's `autoscaling_policy` of an application
in the config file): one function decides the replica counts of every autoscaling
deployment of the application together.

It gets `{DeploymentID: AutoscalingContext}` and returns `(decisions, policy_state)`,
`decisions` mapping deployment ids to replica counts (ints or floats, rounded up) and
`policy_state` mapping them to the state each deployment's context carries next time.
Each deployment's scaling factors, bounds and delays apply to its decision, as with a
deployment-level policy; a deployment the policy leaves out keeps its target.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from ember.serve.autoscaling_policy import AutoscalingPolicy

if TYPE_CHECKING:
    from ember.serve._deployment_state import DeploymentState

__all__ = ["AppPolicyRunner"]


class AppPolicyRunner:
    """Calls one application's policy on every controller tick."""

    def __init__(self, policy: dict) -> None:
        self.config = AutoscalingPolicy(**policy)
        self.policy: Any = None

    def tick(self, states: list[DeploymentState], now: float) -> None:
        """Set the targets of the application's autoscaling deployments."""
        contexts, inputs = {}, {}
        for ds in states:
            ds.app_driven = ds.autoscaler is not None and not ds.deleting
            runner = ds.policy_runner() if ds.app_driven else None
            if runner is None:
                continue
            total, queued, running = ds.load(now)
            cold = runner.cold_start(total, running, ds.target)
            if cold is not None:
                ds.set_target(cold)
                continue
            contexts[runner.deployment_id] = runner.context(total, queued, running, ds.target)
            inputs[runner.deployment_id] = (ds, runner, len(running))
        if not contexts:
            return
        try:
            if self.policy is None:
                self.policy = self.config.get_policy()
            decisions, state = self.policy(contexts)
        except Exception:  # noqa: BLE001 - a failing policy keeps the current targets
            traceback.print_exc()
            return
        state = state or {}
        for dep_id, (ds, runner, current) in inputs.items():
            if dep_id in decisions:
                ds.set_target(runner.apply(decisions[dep_id], state.get(dep_id), current,
                                           ds.target, now))
            elif isinstance(state.get(dep_id), dict):
                runner.policy_state = state[dep_id]
