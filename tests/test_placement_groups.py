"""Placement groups: reservation, scheduling into bundles, pending groups, removal."""

from __future__ import annotations

import pytest

import ember
from ember.exceptions import InfeasibleResourceError
from ember.util import (
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@pytest.fixture(autouse=True)
def four_cpus(shutdown_after):
    ember.init(num_cpus=4)
    yield


@ember.remote
def where():
    ctx = ember.get_runtime_context()
    return ctx.get_placement_group_id(), ctx.get_assigned_resources()


def test_reserve_and_schedule_into_bundles():
    pg = placement_group([{"CPU": 1}, {"CPU": 2}], strategy="PACK", name="pg1")
    assert pg.wait(10)
    assert ember.get(pg.ready()) == pg  # as in Ray: the ready ref resolves to the group
    assert ember.available_resources()["CPU"] == 1
    strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=1)
    pg_id, res = ember.get(where.options(scheduling_strategy=strategy, num_cpus=2).remote())
    assert pg_id == pg.id.hex() and res == {"CPU": 2}
    assert placement_group_table(pg)["state"] == "CREATED"
    assert get_placement_group("pg1") == pg
    remove_placement_group(pg)
    assert ember.available_resources()["CPU"] == 4


def test_actor_in_placement_group_dies_with_it():
    pg = placement_group([{"CPU": 1}])
    assert pg.wait(10)

    @ember.remote(num_cpus=1)
    class Pinned:
        def ping(self):
            return "pong"

    a = Pinned.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg)).remote()
    assert ember.get(a.ping.remote()) == "pong"
    remove_placement_group(pg)
    with pytest.raises(ember.exceptions.ActorDiedError):
        ember.get(a.ping.remote())


def test_group_that_does_not_fit_now_stays_pending_until_resources_free():
    first = placement_group([{"CPU": 3}])
    assert first.wait(10)
    second = placement_group([{"CPU": 2}])
    assert not second.wait(0.2)
    assert placement_group_table(second)["state"] == "PENDING"
    remove_placement_group(first)
    assert second.wait(10)


def test_infeasible_groups_wait_as_infeasible():
    """As in Ray, a group no node can hold waits (a node may join); its stats say why."""
    too_big = placement_group([{"CPU": 8}])
    spread = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    for pg in (too_big, spread):
        assert not pg.wait(0.2)
        row = placement_group_table(pg)
        assert row["state"] == "PENDING"
        assert row["stats"]["scheduling_state"] == "INFEASIBLE"
        assert "no set of nodes can hold it" in row["stats"]["pending_reason"]
        remove_placement_group(pg)
    with pytest.raises(ValueError, match="strategy"):
        placement_group([{"CPU": 1}], strategy="SIDEWAYS")
    with pytest.raises(ValueError, match="Bundle 0"):
        placement_group([{"CPU": -1}])


def test_task_request_larger_than_bundle_is_refused():
    pg = placement_group([{"CPU": 1}])
    assert pg.wait(10)
    with pytest.raises(InfeasibleResourceError, match="bundle"):
        where.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg),
                      num_cpus=2).remote()


def test_child_tasks_stay_in_a_capturing_group():
    pg = placement_group([{"CPU": 1}, {"CPU": 1}])
    assert pg.wait(10)

    @ember.remote
    def parent():  # its child names no placement: it inherits the group
        return ember.get(where.remote(), timeout=30), ember.get(
            where.options(scheduling_strategy="SPREAD").remote(), timeout=30)

    strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0,
                                                placement_group_capture_child_tasks=True)
    (pg_id, res), (own_pg, _) = ember.get(parent.options(scheduling_strategy=strategy).remote())
    assert pg_id == pg.id.hex() and res == {"CPU": 1}
    assert own_pg is None  # a child with its own strategy is not captured
    plain = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
    (pg_id, _), _ = ember.get(parent.options(scheduling_strategy=plain).remote())
    assert pg_id is None  # without capture, children run outside the group


def test_ready_resolves_to_the_group_and_ids_are_rays():
    pg = placement_group([{"CPU": 1}])
    got = ember.get(pg.ready(), timeout=30)
    assert got == pg and got.bundle_specs == pg.bundle_specs
    assert pg.id.binary() == bytes(pg.id) and pg.id.hex() == bytes(pg.id).hex()
    remove_placement_group(pg)


def test_bundle_index_checks():
    pg = placement_group([{"CPU": 1}, {"CPU": 1}])
    ember.get(pg.ready(), timeout=30)

    @ember.remote(num_cpus=1)
    def f():
        return 1

    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    for bad in (3, -2):
        with pytest.raises(ValueError, match=f"bundle index {bad} is invalid"):
            f.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
                pg, placement_group_bundle_index=bad)).remote()
    with pytest.raises(ValueError, match="bundle index must be -1"):
        f.options(placement_group_bundle_index=0).remote()
    remove_placement_group(pg)


def test_ready_of_a_removed_group_and_pending_bundle_nodes():
    pending = placement_group([{"CPU": 1}, {"CPU": 100}])
    row = placement_group_table(pending)
    assert row["state"] == "PENDING" and row["bundles_to_node_id"] == {0: "", 1: ""}
    remove_placement_group(pending)
    placed = placement_group([{"CPU": 1}])
    assert placed.wait(10)
    remove_placement_group(placed)
    with pytest.raises(ember.exceptions.TaskPlacementGroupRemoved):
        ember.get(placed.ready(), timeout=10)


def test_placement_group_none_keeps_child_tasks_out_of_a_capturing_group():
    from ember.util.placement_group import get_current_placement_group
    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = placement_group([{"CPU": 1}, {"CPU": 1}])
    assert pg.wait(10)

    @ember.remote(num_cpus=0)
    def current():
        return get_current_placement_group()

    @ember.remote(num_cpus=1)
    def parent(opt_out):
        opts = {"placement_group": None} if opt_out == "option" else {
            "scheduling_strategy": PlacementGroupSchedulingStrategy(placement_group=None)
        } if opt_out == "strategy" else {}
        return ember.get([current.options(**opts).remote() for _ in range(2)])

    capture = PlacementGroupSchedulingStrategy(placement_group=pg,
                                               placement_group_capture_child_tasks=True)
    assert None not in ember.get(parent.options(scheduling_strategy=capture).remote(""))
    for how in ("option", "strategy"):  # Ray's two spellings of "outside any group"
        assert ember.get(parent.options(scheduling_strategy=capture).remote(how)) == [None] * 2
    remove_placement_group(pg)
