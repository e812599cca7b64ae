"""Replica ranks (`serve.get_replica_context().rank`, Ray's ReplicaRank): 0..N-1 per
deployment, kept by a crashed replica's replacement, contiguous again after a downscale,
and passed to a `reconfigure(user_config, rank)` that takes it."""

from __future__ import annotations

import os

import ember
from ember import serve
from ember.serve.schema import ReplicaRank

NO_CPU = {"num_cpus": 0}


@serve.deployment(ray_actor_options=NO_CPU, num_replicas=3, user_config={"name": "v1"})
class Ranked:
    def __init__(self) -> None:
        self.reconfigured: list[int] = []

    def reconfigure(self, user_config: dict, rank: ReplicaRank) -> None:
        assert isinstance(rank, ReplicaRank)
        self.reconfigured.append(rank.rank)

    def __call__(self) -> dict:
        ctx = serve.get_replica_context()
        return {"rank": ctx.rank.rank, "node_rank": ctx.rank.node_rank,
                "local_rank": ctx.rank.local_rank, "world_size": ctx.world_size,
                "pid": os.getpid(), "reconfigured": list(self.reconfigured)}

    def die_if_rank_1(self) -> None:
        if serve.get_replica_context().rank.rank == 1:
            os._exit(0)


def _replicas(h, n: int) -> dict[int, dict]:
    """One answer per replica, by pid: stops once `n` replicas have answered (or after
    a bounded number of calls)."""
    seen: dict[int, dict] = {}
    for _ in range(200):
        r = h.remote().result(timeout_s=20)
        seen[r["pid"]] = r
        if len(seen) == n:
            break
    return seen


def _running(app: str, n: int) -> bool:
    status = serve.status().applications[app].deployments["Ranked"]
    return status.status == "HEALTHY" and status.replica_states == {"RUNNING": n}


def test_ranks_are_contiguous_and_survive_a_crash_and_a_downscale(serve_url, cleanup_apps,
                                                                   wait):
    h = serve.run(Ranked.bind(), name="ranks", route_prefix="/ranks")
    first = _replicas(h, 3)
    assert sorted(r["rank"] for r in first.values()) == [0, 1, 2]
    # One node: node rank 0 for all, local ranks 0..2; reconfigure saw the rank.
    assert {r["node_rank"] for r in first.values()} == {0}
    assert sorted(r["local_rank"] for r in first.values()) == [0, 1, 2]
    assert all(r["world_size"] == 3 for r in first.values())
    assert all(r["reconfigured"] == [r["rank"]] for r in first.values())

    # A crashed replica's replacement takes its rank; the others keep theirs.
    victim = next(pid for pid, r in first.items() if r["rank"] == 1)
    for _ in range(200):  # calls reach replicas at random: until rank 1's has died
        try:
            h.die_if_rank_1.remote().result(timeout_s=20)
        except ember.exceptions.ActorDiedError:
            break

    def replaced() -> dict[int, dict] | None:
        now = _replicas(h, 3) if _running("ranks", 3) else {}
        return now if len(now) == 3 and victim not in now else None

    after = wait(replaced, what="the replacement")
    assert sorted(r["rank"] for r in after.values()) == [0, 1, 2]
    for pid, r in after.items():
        if pid in first:
            assert r["rank"] == first[pid]["rank"]

    # Downscale to 2: the survivors' ranks are 0..1 again and the world size is 2.
    h = serve.run(Ranked.options(num_replicas=2).bind(), name="ranks", route_prefix="/ranks")
    wait(lambda: _running("ranks", 2), what="the downscale")

    def compact() -> bool:
        now = _replicas(h, 2)
        return (sorted(r["rank"] for r in now.values()) == [0, 1]
                and all(r["world_size"] == 2 for r in now.values()))

    wait(compact, what="contiguous ranks after the downscale")


def test_replica_context_outside_a_rank_reports_the_rank_model():
    rank = ReplicaRank(rank=2, node_rank=0, local_rank=1)
    assert (rank.rank, rank.node_rank, rank.local_rank) == (2, 0, 1)
    assert ember.serve.context.ReplicaContext("a", "d", "r").rank is None
