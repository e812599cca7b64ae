"""The scheduler through ember._native: policies, fixed point, placement groups."""

import pytest

from ember import _native


@pytest.fixture
def two_nodes() -> _native.Scheduler:
    s = _native.Scheduler()
    s.add_node("a", {"CPU": 2, "memory": 1e9})
    s.add_node("b", {"CPU": 2, "GPU": 1})
    return s


def test_node_bookkeeping(two_nodes: _native.Scheduler) -> None:
    assert two_nodes.nodes() == ["a", "b"]
    assert two_nodes.total("b") == {"CPU": 2.0, "GPU": 1.0}
    assert two_nodes.acquire("b", {"CPU": 0.5, "GPU": 1})
    assert two_nodes.available("b") == {"CPU": 1.5}
    assert not two_nodes.acquire("b", {"GPU": 1})
    two_nodes.release("b", {"CPU": 0.5, "GPU": 1})
    assert two_nodes.available("b") == {"CPU": 2.0, "GPU": 1.0}
    two_nodes.remove_node("b")
    assert two_nodes.nodes() == ["a"]
    with pytest.raises(KeyError):
        two_nodes.total("b")
    with pytest.raises(ValueError):
        two_nodes.add_node("a", {"CPU": 1})


def test_fixed_point_arithmetic() -> None:
    s = _native.Scheduler()
    s.add_node("n", {"CPU": 0.3})
    assert s.acquire("n", {"CPU": 0.1})
    assert s.acquire("n", {"CPU": 0.2})
    assert s.available("n") == {}
    s.release("n", {"CPU": 0.1})
    assert s.available("n") == {"CPU": 0.1}


def test_negative_and_zero_resources() -> None:
    s = _native.Scheduler()
    with pytest.raises(ValueError, match="memory"):
        s.add_node("n", {"CPU": 1, "memory": -1})
    s.add_node("n", {"CPU": 1, "GPU": 0})
    assert s.total("n") == {"CPU": 1.0}


def test_default_prefers_local_then_spreads(two_nodes: _native.Scheduler) -> None:
    assert two_nodes.pick_node({"CPU": 1}, local_node="b") == "b"
    two_nodes.acquire("b", {"CPU": 1})
    # b would be at 100% CPU; a is the least utilized.
    assert two_nodes.pick_node({"CPU": 1}, local_node="b") == "a"
    assert two_nodes.pick_node({"CPU": 1}, local_node="b", spread_threshold=1.1) == "b"


def test_spread_round_robins(two_nodes: _native.Scheduler) -> None:
    picks = [two_nodes.pick_node({"CPU": 0.5}, strategy="SPREAD") for _ in range(4)]
    assert picks == ["a", "b", "a", "b"]
    with pytest.raises(ValueError):
        two_nodes.pick_node({"CPU": 1}, strategy="RANDOM")


def test_busy_cluster_returns_empty(two_nodes: _native.Scheduler) -> None:
    assert two_nodes.acquire("a", {"CPU": 2})
    assert two_nodes.acquire("b", {"CPU": 2})
    assert two_nodes.pick_node({"CPU": 1}) == ""


def test_infeasible_requests_raise_with_a_useful_message(two_nodes: _native.Scheduler) -> None:
    assert not two_nodes.is_feasible({"CPU": 64})
    with pytest.raises(
        _native.InfeasibleError, match=r"'CPU' requested 64.*largest node total is 2"
    ):
        two_nodes.pick_node({"CPU": 64})
    with pytest.raises(_native.InfeasibleError, match="'TPU' requested 1, but no node has any"):
        two_nodes.pick_node({"TPU": 1})
    with pytest.raises(ValueError):  # InfeasibleError is a ValueError
        two_nodes.pick_node({"GPU": 2})


def test_node_affinity(two_nodes: _native.Scheduler) -> None:
    assert two_nodes.pick_node({"CPU": 1}, affinity_node="a") == "a"
    two_nodes.acquire("a", {"CPU": 2})
    assert two_nodes.pick_node({"CPU": 1}, affinity_node="a") == ""
    assert two_nodes.pick_node({"CPU": 1}, affinity_node="a", soft=True) == "b"
    with pytest.raises(_native.InfeasibleError):
        two_nodes.pick_node({"CPU": 1}, affinity_node="gone")
    assert two_nodes.pick_node({"CPU": 1}, affinity_node="gone", soft=True) == "b"
    with pytest.raises(_native.InfeasibleError):
        two_nodes.pick_node({"GPU": 1}, affinity_node="a")


def test_placement_groups(two_nodes: _native.Scheduler) -> None:
    nodes = two_nodes.create_placement_group("pg", [{"CPU": 1}, {"CPU": 1}], "STRICT_SPREAD")
    assert nodes == ["a", "b"]
    assert two_nodes.available("a") == {"CPU": 1.0, "memory": 1e9}
    assert two_nodes.placement_group_bundles("pg") == [("a", {"CPU": 1.0}), ("b", {"CPU": 1.0})]
    assert two_nodes.acquire_bundle("pg", 1, {"CPU": 1}) == "b"
    assert two_nodes.acquire_bundle("pg", 1, {"CPU": 1}) == ""
    assert two_nodes.acquire_bundle("pg", -1, {"CPU": 1}) == "a"
    with pytest.raises(_native.InfeasibleError):
        two_nodes.acquire_bundle("pg", 0, {"CPU": 2})
    with pytest.raises(KeyError):
        two_nodes.acquire_bundle("pg", 5, {"CPU": 1})
    two_nodes.release_bundle("pg", 1, {"CPU": 1})
    assert two_nodes.acquire_bundle("pg", 1, {"CPU": 1}) == "b"
    two_nodes.remove_placement_group("pg")
    assert two_nodes.available("a") == {"CPU": 2.0, "memory": 1e9}
    with pytest.raises(KeyError):
        two_nodes.remove_placement_group("pg")


def test_placement_group_waits_or_is_infeasible(two_nodes: _native.Scheduler) -> None:
    two_nodes.acquire("a", {"CPU": 2})
    assert two_nodes.create_placement_group("pg", [{"CPU": 2}, {"CPU": 2}], "SPREAD") == []
    assert two_nodes.available("b") == {"CPU": 2.0, "GPU": 1.0}  # nothing half-reserved
    with pytest.raises(_native.InfeasibleError, match="3 distinct nodes"):
        two_nodes.create_placement_group("x", [{"CPU": 1}] * 3, "STRICT_SPREAD")
    with pytest.raises(_native.InfeasibleError, match="STRICT_PACK"):
        two_nodes.create_placement_group("x", [{"CPU": 2}, {"CPU": 1}], "STRICT_PACK")
    with pytest.raises(_native.InfeasibleError):
        two_nodes.create_placement_group("x", [], "PACK")
    with pytest.raises(_native.InfeasibleError):
        two_nodes.create_placement_group("x", [{"CPU": 0}], "PACK")
    with pytest.raises(ValueError):
        two_nodes.create_placement_group("x", [{"CPU": 1}], "TIGHT")
