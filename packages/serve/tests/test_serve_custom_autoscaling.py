"""Custom autoscaling policies (Ray's `AutoscalingConfig(policy=AutoscalingPolicy(...))`):
the policy's answer drives the replica count, within the config's bounds, with its own
state and the replicas' custom metrics."""

from __future__ import annotations

from typing import Any

from ember import serve
from ember.serve.config import AutoscalingConfig, AutoscalingContext, AutoscalingPolicy

QUICK = dict(upscale_delay_s=0, downscale_delay_s=0, metrics_interval_s=0.1,
             look_back_period_s=1.0)


def running(app: str, deployment: str) -> int:
    st = serve.status().applications.get(app)
    if st is None or deployment not in st.deployments:
        return -1
    return st.deployments[deployment].replica_states.get("RUNNING", 0)


def grow_with_metric(ctx: AutoscalingContext) -> tuple[int, dict[str, Any]]:
    """One replica more per 10 units of the replicas' summed `load` metric."""
    load = sum(ctx.aggregated_metrics.get("load", {}).values())
    return 1 + int(load // 10), {}


def after_three_calls(ctx: AutoscalingContext) -> tuple[int, dict[str, Any]]:
    """Two replicas once the policy has been called three times (its state counts)."""
    calls = ctx.policy_state.get("calls", 0) + 1
    return (2 if calls >= 3 else 1), {"calls": calls}


class FixedReplicas:
    """A class policy: built once with policy_kwargs, its instance called each tick."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas

    def __call__(self, ctx: AutoscalingContext) -> tuple[int, dict[str, Any]]:
        assert ctx.deployment_name == "Loaded" and ctx.app_name == "fixed"
        return self.replicas, {}


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Loaded:
    def __call__(self) -> str:
        return "ok"

    def record_autoscaling_stats(self) -> dict[str, float]:
        return {"load": 10.0}


def test_policy_round_trips_through_the_config():
    cfg = AutoscalingConfig(max_replicas=3, policy=AutoscalingPolicy(
        policy_function=FixedReplicas, policy_kwargs={"replicas": 2}))
    again = AutoscalingConfig(**cfg.model_dump())
    assert again.policy.policy_function.endswith(":FixedReplicas")
    policy = again.policy.get_policy()
    assert isinstance(policy, object) and policy.replicas == 2
    assert AutoscalingConfig().policy.is_default_policy_function()


def test_custom_metrics_drive_replicas_up_to_max(serve_url, cleanup_apps, wait):
    app = Loaded.options(autoscaling_config={
        "min_replicas": 1, "max_replicas": 3, **QUICK,
        "policy": {"policy_function": grow_with_metric}})
    serve.run(app.bind(), name="metric", route_prefix=None)
    # 1 replica reports 10 -> 2 replicas report 20 -> 3 (the max, not 4).
    wait(lambda: running("metric", "Loaded") == 3, timeout=30, what="3 replicas")
    st = serve.status().applications["metric"].deployments["Loaded"]
    assert st.replica_states.get("STARTING", 0) == 0


def test_policy_state_persists_between_ticks(serve_url, cleanup_apps, wait):
    app = Loaded.options(autoscaling_config=AutoscalingConfig(
        min_replicas=1, max_replicas=4, **QUICK,
        policy=AutoscalingPolicy(policy_function=after_three_calls)))
    serve.run(app.bind(), name="stateful", route_prefix=None)
    wait(lambda: running("stateful", "Loaded") == 2, timeout=30, what="2 replicas")


def test_class_policy_built_with_its_kwargs(serve_url, cleanup_apps, wait):
    app = Loaded.options(autoscaling_config=AutoscalingConfig(
        min_replicas=1, max_replicas=5, **QUICK, policy=AutoscalingPolicy(
            policy_function=FixedReplicas, policy_kwargs={"replicas": 3})))
    h = serve.run(app.bind(), name="fixed", route_prefix=None)
    wait(lambda: running("fixed", "Loaded") == 3, timeout=30, what="3 replicas")
    assert h.remote().result(timeout_s=30) == "ok"
