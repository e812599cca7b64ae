"""Prefix-cache-aware routing: the policy on its own, then inside Serve's router."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ember import serve
from ember.serve._router import PendingRequest, ReplicaInfo
from ember.serve.llm.request_router import PrefixCacheAffinityRouter, PrefixTree

REPLICAS = [ReplicaInfo(f"r{i}", None, 100) for i in range(4)]
# Distinct from their first character: a long common opening (one system prompt for all)
# would count as a shared prefix, as it does for Ray's router.
PREFIXES = [f"{i}: " + " ".join(f"fact {i}.{j}" for j in range(16)) for i in range(8)]


def request(text: str) -> PendingRequest:
    return PendingRequest("call", {}, (text,), {})


def test_prefix_tree_matches_longest_prefix_per_replica_and_evicts():
    tree = PrefixTree(max_chars=40)
    tree.insert("hello world, how are you", "a")
    tree.insert("hello there", "b")
    assert tree.match("hello world!", {"a", "b"}) == {"a": 11, "b": 6}
    assert tree.match("hello world!", {"b"}) == {"b": 6}
    tree.insert("goodbye cruel world", "a")  # over 40 chars: the oldest prompt goes
    assert tree.match("hello world!", {"a"}) == {}
    assert tree.match("goodbye", {"a"}) == {"a": 7}
    tree.remove_tenant("a")
    assert tree.match("goodbye", {"a", "b"}) == {} and tree.root.children.keys() == {"h"}


def test_requests_follow_their_prefix_and_new_prefixes_spread():
    random.seed(0)
    router = PrefixCacheAffinityRouter()
    inflight = {r.replica_id: 0 for r in REPLICAS}
    home = {}
    for i, prefix in enumerate(PREFIXES):
        home[i] = router.choose(REPLICAS, inflight, request(prefix + "first")).replica_id
    assert Counter(home.values()) == Counter({r.replica_id: 2 for r in REPLICAS})
    for n in range(200):
        i = n % len(PREFIXES)
        chosen = router.choose(REPLICAS, inflight, request(f"{PREFIXES[i]}question {n}"))
        assert chosen.replica_id == home[i]


def test_unbalanced_load_falls_back_to_power_of_two():
    random.seed(0)
    router = PrefixCacheAffinityRouter(imbalanced_threshold=2)
    inflight = {r.replica_id: 0 for r in REPLICAS}
    first = router.choose(REPLICAS, inflight, request(PREFIXES[0])).replica_id
    inflight[first] = 10  # its home replica is swamped
    picks = {router.choose(REPLICAS, inflight, request(PREFIXES[0] + str(n))).replica_id
             for n in range(50)}
    assert first not in picks and len(picks) > 1


def test_requests_without_a_prompt_are_left_to_power_of_two():
    router = PrefixCacheAffinityRouter()
    assert router.choose(REPLICAS, {}, PendingRequest("call", {}, (), {})) is None


@serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0},
                  request_router_config={"request_router_class": PrefixCacheAffinityRouter})
class Echo:
    def __call__(self, prompt: str) -> str:
        return serve.get_replica_context().replica_id


def test_serve_routes_shared_prefixes_to_one_replica(serve_url, cleanup_apps):
    handle = serve.run(Echo.bind(), name="prefix", route_prefix=None)
    homes: dict[int, set[str]] = {i: set() for i in range(4)}
    for n in range(40):
        i = n % 4
        homes[i].add(handle.remote(f"{PREFIXES[i]}request {n}").result(timeout_s=30))
    assert all(len(h) == 1 for h in homes.values())
    assert len(set().union(*homes.values())) == 2  # the four prefixes spread over both


def test_request_router_config_is_checked():
    with pytest.raises(TypeError):
        Echo.options(request_router_config=5)
    opts = Echo.options(request_router_config={
        "request_router_class": "ember.serve.llm.request_router.PrefixCacheAffinityRouter",
        "request_router_kwargs": {"imbalanced_threshold": 3}})
    cfg = opts._config()["request_router_config"]
    assert cfg["request_router_class"] == (
        "ember.serve.llm.request_router:PrefixCacheAffinityRouter")
    assert cfg["request_router_kwargs"] == {"imbalanced_threshold": 3}
    assert cfg["request_routing_stats_period_s"] == 10.0


def test_llm_exports_are_sorted_and_import_stays_light():
    import subprocess
    import sys

    import ember.serve.llm as llm

    assert llm.__all__ == sorted(llm.__all__)
    assert all(hasattr(llm, name) for name in llm.__all__)
    code = ("import sys, ember.serve.llm, ember.serve.llm.request_router; "
            "print(any(m in sys.modules for m in ('torch', 'transformers', 'vllm')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False"]
