"""Custom request routers with Ray's API (`ember.serve.request_router`): the router's
ranked choice decides which replica serves each request, its `on_request_routed` hears
of each one, and replicas' `record_routing_stats()` reach it as `routing_stats`."""

from __future__ import annotations

import os

import ember
from ember import serve
from ember.serve.config import RequestRouterConfig
from ember.serve.context import _get_internal_replica_context
from ember.serve.request_router import (
    FIFOMixin,
    LocalityMixin,
    MultiplexMixin,
    PendingRequest,
    ReplicaID,
    ReplicaResult,
    RequestRouter,
    RunningReplica,
)


@ember.remote(num_cpus=0)
class Log:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, item: str) -> None:
        self.items.append(item)

    def get(self) -> list[str]:
        return self.items


class FirstByIdRouter(FIFOMixin, LocalityMixin, MultiplexMixin, RequestRouter):
    """Every request to the replica with the smallest id; tells a named Log of each."""

    def initialize_state(self, log_name: str = "") -> None:
        self.log_name = log_name

    async def choose_replicas(self, candidate_replicas: list[RunningReplica],
                              pending_request: PendingRequest | None = None,
                              ) -> list[list[RunningReplica]]:
        local = self.rank_replicas_via_locality(candidate_replicas)
        assert sum(len(rank) for rank in local) == len(candidate_replicas)
        every = sorted(self.select_available_replicas(), key=lambda r: r.replica_id.unique_id)
        return [[every[0]]]

    def on_request_routed(self, pending_request: PendingRequest, replica_id: ReplicaID,
                          result: ReplicaResult) -> None:
        ember.get_actor(self.log_name).add.remote(replica_id.unique_id)


class MostStatsRouter(RequestRouter):
    """Once every replica has reported routing stats, every request goes to the one with
    the highest `score`; the score the router saw is logged for each request."""

    def initialize_state(self, log_name: str = "") -> None:
        self.log_name = log_name

    async def choose_replicas(self, candidate_replicas, pending_request=None):
        if not all("score" in r.routing_stats for r in candidate_replicas):
            return [candidate_replicas]
        return [[max(candidate_replicas, key=lambda r: r.routing_stats["score"])]]

    def on_request_routed(self, pending_request, replica_id, result):
        score = self.curr_replicas[replica_id].routing_stats.get("score", -1)
        ember.get_actor(self.log_name).add.remote(str(score))


@serve.deployment(num_replicas=3, ray_actor_options={"num_cpus": 0})
class WhoAmI:
    def __init__(self) -> None:
        self.replica_id = _get_internal_replica_context().replica_id

    def __call__(self) -> str:
        return self.replica_id.unique_id

    def record_routing_stats(self) -> dict[str, int]:
        return {"score": os.getpid()}


def test_router_choice_decides_the_replica(serve_url, cleanup_apps, wait):
    log = Log.options(name="routed_log").remote()
    app = WhoAmI.options(request_router_config=RequestRouterConfig(
        request_router_class=FirstByIdRouter, request_router_kwargs={"log_name": "routed_log"}))
    h = serve.run(app.bind(), name="first", route_prefix=None)
    served = [h.remote().result(timeout_s=30) for _ in range(12)]
    assert len(set(served)) == 1  # power of two choices would spread 12 requests
    wait(lambda: len(ember.get(log.get.remote())) == 12, what="12 routed callbacks")
    assert set(ember.get(log.get.remote())) == set(served)
    ember.kill(log)


@serve.deployment(num_replicas=3, ray_actor_options={"num_cpus": 0})
class Pid:
    def __call__(self) -> str:
        return str(os.getpid())

    def record_routing_stats(self) -> dict[str, int]:
        return {"score": os.getpid()}


def test_routing_stats_reach_the_router(serve_url, cleanup_apps, wait):
    log = Log.options(name="stats_log").remote()
    app = Pid.options(request_router_config=RequestRouterConfig(
        request_router_class=MostStatsRouter, request_router_kwargs={"log_name": "stats_log"},
        request_routing_stats_period_s=0.1))
    h = serve.run(app.bind(), name="stats", route_prefix=None)
    # The replica's own pid, as the router saw it in that replica's routing stats.
    wait(lambda: h.remote().result(timeout_s=30) in ember.get(log.get.remote()),
         what="a request routed on its replica's stats")
    top = {h.remote().result(timeout_s=30) for _ in range(9)}
    assert len(top) == 1  # every replica has reported: the top score takes them all
    ember.kill(log)


def test_replica_id_is_typed(serve_url, cleanup_apps):
    h = serve.run(WhoAmI.options(num_replicas=1).bind(), name="typed", route_prefix=None)
    assert len(h.remote().result(timeout_s=30)) == 8
    assert _get_internal_replica_context() is None  # not inside a replica


class SleepyRouter(RequestRouter):
    """Awaits before deciding: the request waits for the decision, which then holds."""

    async def choose_replicas(self, candidate_replicas, pending_request=None):
        import asyncio

        await asyncio.sleep(0.001)
        return [candidate_replicas[:1]]


def test_a_router_that_awaits_still_decides(serve_url, cleanup_apps):
    app = WhoAmI.options(num_replicas=2, request_router_config=RequestRouterConfig(
        request_router_class=SleepyRouter))
    h = serve.run(app.bind(), name="sleepy", route_prefix=None)
    served = [h.remote().result(timeout_s=30) for _ in range(8)]
    assert len(set(served)) == 1  # its choice (the first candidate), not two choices
    many = [h.remote() for _ in range(8)]  # concurrent: each waits for its decision
    assert {r.result(timeout_s=30) for r in many} == set(served)


@serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0})
class WhoAmIHttp:
    def __call__(self, request) -> str:
        return _get_internal_replica_context().replica_id.unique_id


def test_an_awaiting_router_decides_http_requests_too(serve_url, cleanup_apps):
    import httpx

    app = WhoAmIHttp.options(request_router_config=RequestRouterConfig(
        request_router_class=SleepyRouter))
    serve.run(app.bind(), name="sleepy_http", route_prefix="/sleepy")
    served = {httpx.get(f"{serve_url}/sleepy", timeout=30).text for _ in range(8)}
    assert len(served) == 1
