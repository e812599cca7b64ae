"""Placement group details Ray programs read: scheduling stats, the per-group resources
in `available_resources()`, GPU ids held per bundle, index -1 work choosing its bundle,
removal ending the group's work, ready() refs of a dead owner, and argument checks."""

from __future__ import annotations

import os
import time

import pytest
from waiting import wait_until

import ember
from ember.exceptions import OwnerDiedError, WorkerCrashedError
from ember.util.placement_group import (
    PlacementGroup,
    PlacementGroupID,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@pytest.fixture(autouse=True)
def cpus_and_gpus(shutdown_after):
    ember.init(num_cpus=4, num_gpus=2)
    yield


def in_bundle(pg, index=-1):
    return PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=index)



@ember.remote(num_cpus=1)
class Holder:
    def ready(self):
        return True


def test_stats_count_attempts_and_creation_latency():
    pg = placement_group([{"CPU": 3}])
    ember.get(pg.ready(), timeout=30)
    stats = placement_group_table(pg)["stats"]
    assert stats["scheduling_attempt"] == 1 and stats["scheduling_state"] == "FINISHED"
    assert stats["end_to_end_creation_latency_ms"] > 0

    waiting = placement_group([{"CPU": 3}])
    assert not waiting.wait(0.2)
    ember.get(Holder.remote().ready.remote(), timeout=30)  # events that free nothing new
    stats = placement_group_table(waiting)["stats"]
    assert stats["scheduling_state"] == "NO_RESOURCES"
    assert stats["scheduling_attempt"] == 1 and stats["end_to_end_creation_latency_ms"] == 0

    remove_placement_group(pg)
    assert waiting.wait(30)
    assert placement_group_table(waiting)["stats"]["end_to_end_creation_latency_ms"] > 0
    remove_placement_group(waiting)
    assert placement_group_table(waiting)["stats"]["scheduling_state"] == "REMOVED"


def test_group_resources_show_in_available_resources():
    pg = placement_group([{"CPU": 1}, {"CPU": 2}])
    ember.get(pg.ready(), timeout=30)
    h = pg.id.hex()
    total = ember.cluster_resources()
    assert total[f"CPU_group_{h}"] == 3 and total[f"CPU_group_1_{h}"] == 2
    assert total[f"bundle_group_{h}"] == 2000 and total[f"bundle_group_0_{h}"] == 1000

    a = Holder.options(scheduling_strategy=in_bundle(pg, 1)).remote()
    ember.get(a.ready.remote(), timeout=30)
    free = ember.available_resources()
    assert free[f"CPU_group_1_{h}"] == 1 and free[f"CPU_group_{h}"] == 2
    assert free[f"CPU_group_0_{h}"] == 1
    assert free[f"bundle_group_{h}"] == 1999.999 and free[f"bundle_group_1_{h}"] == 999.999
    ember.kill(a)
    wait_until(lambda: ember.available_resources()[f"bundle_group_{h}"] == 2000)

    remove_placement_group(pg)
    assert not any(h in k for k in ember.available_resources())
    assert not any(h in k for k in ember.cluster_resources())


@ember.remote(num_gpus=1, num_cpus=0)
def visible_gpus():
    return os.environ["CUDA_VISIBLE_DEVICES"]


def test_each_bundle_holds_its_own_gpus():
    first, second = placement_group([{"GPU": 1}]), placement_group([{"GPU": 1}])
    assert first.wait(30) and second.wait(30)
    # One after the other: a node-wide pool would give both the first free GPU.
    seen = {ember.get(visible_gpus.options(scheduling_strategy=in_bundle(pg)).remote(),
                      timeout=30) for pg in (first, second)}
    assert seen == {"0", "1"}
    remove_placement_group(first)
    remove_placement_group(second)
    assert ember.get([visible_gpus.remote() for _ in range(2)], timeout=30)


def test_any_bundle_work_leaves_gpu_bundles_to_work_that_needs_gpus():
    pg = placement_group([{"CPU": 1, "GPU": 1}, {"CPU": 1}, {"CPU": 1}])
    assert pg.wait(30)
    cpu_only = [Holder.options(scheduling_strategy=in_bundle(pg)).remote() for _ in range(2)]
    assert ember.get([a.ready.remote() for a in cpu_only], timeout=30) == [True, True]
    gpu = Holder.options(num_gpus=1, scheduling_strategy=in_bundle(pg)).remote()
    assert ember.get(gpu.ready.remote(), timeout=30)


def test_removing_a_group_ends_the_tasks_running_in_it(tmp_path):
    started = tmp_path / "started"

    @ember.remote(num_cpus=1, max_retries=0)
    def long_running(path):
        open(path, "w").close()
        time.sleep(60)

    pg = placement_group([{"CPU": 1}])
    ref = long_running.options(scheduling_strategy=in_bundle(pg)).remote(str(started))
    wait_until(started.exists)
    remove_placement_group(pg)
    with pytest.raises(WorkerCrashedError):
        ember.get(ref, timeout=30)


def test_pending_ready_ref_fails_when_its_owner_dies():
    @ember.remote(num_cpus=1)
    class Creator:
        def pending_ready_ref(self):
            return placement_group([{"GPU": 8}]).ready()

    creator = Creator.remote()
    ref = ember.get(creator.pending_ready_ref.remote(), timeout=30)
    ember.kill(creator)
    with pytest.raises(OwnerDiedError):
        ember.get(ref, timeout=30)


def test_arguments_are_checked_with_rays_messages():
    from ember.util.placement_group import _validate_bundle_label_selector, _validate_bundles

    _validate_bundles([{"CPU": 1, "custom-resource": 2.2}, {"GPU": 0.75}])
    for bad, words in [("no list", "must be a list"), ([], "must be a non-empty list"),
                       ([{"CPU": 1}, "x"], "resource dictionaries"),
                       ([{8: 7}], "resource dictionaries"),
                       ([{"CPU": "6"}], "resource dictionaries"),
                       ([{"CPU": 0, "GPU": 0}], "only 0 values")]:
        with pytest.raises(ValueError, match=words):
            _validate_bundles(bad)
    with pytest.raises(ValueError, match="reserved"):
        placement_group([{"bundle": 1}])
    with pytest.raises(ValueError, match="reserved"):
        Holder.options(resources={"bundle": 1}).remote()

    _validate_bundle_label_selector([{"ray.io/market_type": "spot"}])
    _validate_bundle_label_selector([])
    with pytest.raises(ValueError, match="must be a list"):
        _validate_bundle_label_selector("no list")
    with pytest.raises(ValueError, match="string dictionary"):
        _validate_bundle_label_selector([{"key": 123}])
    with pytest.raises(ValueError, match="Invalid label selector provided"):
        _validate_bundle_label_selector([{"INVALID key!": "value"}])
    with pytest.raises(ValueError, match="length"):
        placement_group([{"CPU": 1}], bundle_label_selector=[{}, {}])

    node = ember.get_runtime_context().get_node_id()
    with pytest.raises(ValueError, match="STRICT_PACK"):
        placement_group([{"CPU": 1}], strategy="PACK", _soft_target_node_id=node)
    with pytest.raises(ValueError):
        placement_group([{"CPU": 1}], strategy="STRICT_PACK", _soft_target_node_id="a")

    unknown = PlacementGroup(PlacementGroupID.from_random())
    remove_placement_group(unknown)  # a group that never existed: nothing happens
    assert PlacementGroup.empty().is_empty and not unknown.is_empty
    assert ember.get(PlacementGroup.empty().ready(), timeout=30).is_empty
