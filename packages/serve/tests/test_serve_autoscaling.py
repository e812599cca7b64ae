"""Autoscaling: replicas follow ongoing requests, up under load and down after it."""

from __future__ import annotations

import asyncio
import os

import ember
from ember import serve
from ember.serve._autoscaling import AutoscalingState, desired_replicas
from ember.serve.config import AutoscalingConfig

FAST = dict(target_ongoing_requests=1, upscale_delay_s=0, downscale_delay_s=0.5,
            metrics_interval_s=0.1, look_back_period_s=0.5)


@ember.remote(num_cpus=0)
class Signal:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self) -> None:
        await self.event.wait()

    async def send(self) -> None:
        self.event.set()


@serve.deployment(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=5,
                  graceful_shutdown_wait_loop_s=0.05)
class Held:
    def __init__(self, signal) -> None:
        self.signal = signal

    async def __call__(self) -> int:
        await self.signal.wait.remote()
        return os.getpid()


def running(app: str, deployment: str = "Held") -> int:
    st = serve.status().applications.get(app)
    if st is None or deployment not in st.deployments:
        return -1
    return st.deployments[deployment].replica_states.get("RUNNING", 0)


def test_policy_follows_load():
    cfg = AutoscalingConfig(min_replicas=1, max_replicas=10, target_ongoing_requests=2)
    assert desired_replicas(cfg, total_ongoing=8, current=1) == 4
    assert desired_replicas(cfg, total_ongoing=100, current=2) == 10
    assert desired_replicas(cfg, total_ongoing=2, current=4) == 1
    assert desired_replicas(cfg, total_ongoing=0, current=1) == 1
    zero = AutoscalingConfig(min_replicas=0, max_replicas=2)
    assert desired_replicas(zero, total_ongoing=0, current=1) == 0
    assert desired_replicas(zero, total_ongoing=3, current=0) == 1


def test_decisions_wait_for_their_delay():
    cfg = AutoscalingConfig(min_replicas=1, max_replicas=5, target_ongoing_requests=1,
                            upscale_delay_s=1.0, downscale_delay_s=2.0)
    s = AutoscalingState(cfg)
    assert s.decide(4, 1, now=0.0) == 1
    assert s.decide(4, 1, now=0.5) == 1
    assert s.decide(4, 1, now=1.0) == 4
    assert s.decide(0, 4, now=1.1) == 4
    assert s.decide(1, 4, now=2.0) == 4  # still below target: the clock keeps running
    assert s.decide(0, 4, now=3.2) == 1


def test_scales_up_under_load_and_down_after(serve_url, cleanup_apps, wait):
    signal = Signal.remote()
    app = Held.options(autoscaling_config=dict(min_replicas=1, max_replicas=3, **FAST))
    h = serve.run(app.bind(signal), name="auto", route_prefix=None)
    assert running("auto") == 1
    held = [h.remote() for _ in range(8)]
    wait(lambda: running("auto") == 3, what="scale up to 3 replicas")
    assert serve.status().applications["auto"].status == "RUNNING"
    ember.get(signal.send.remote())
    pids = {r.result(timeout_s=30) for r in held}
    assert len(pids) >= 2  # the queued requests spread to the new replicas
    wait(lambda: running("auto") == 1, what="scale back down to 1")
    wait(lambda: serve.status().applications["auto"].deployments["Held"].status == "HEALTHY",
         what="the deployment to settle")


def test_scales_from_zero(serve_url, cleanup_apps, wait):
    signal = Signal.remote()
    ember.get(signal.send.remote())
    app = Held.options(autoscaling_config=dict(min_replicas=0, max_replicas=1,
                                               initial_replicas=0, **FAST))
    h = serve.run(app.bind(signal), name="zero", route_prefix=None)
    assert running("zero") == 0
    assert isinstance(h.remote().result(timeout_s=30), int)
    wait(lambda: running("zero") == 0, what="scale back to zero")
