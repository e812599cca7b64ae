"""How long a placement group lives, as in Ray: a group created by a detached actor goes
when that actor's process ends (also when the actor restarts), a detached group stays,
and a second group with a live group's name is refused with RaySystemError."""

from __future__ import annotations

import pytest
from waiting import wait_until

import ember
from ember.exceptions import RaySystemError
from ember.util.placement_group import (
    get_placement_group,
    placement_group,
    remove_placement_group,
)


@pytest.fixture(scope="module")
def cluster():
    ember.init(num_cpus=4, namespace="pg-lifetime")
    yield
    ember.shutdown()


@ember.remote(num_cpus=0, max_restarts=1, max_task_retries=-1)
class Maker:
    def make(self, detached: bool) -> None:
        pg = placement_group([{"CPU": 1}], lifetime="detached" if detached else None,
                             name="kept" if detached else "")
        ember.get(pg.ready(), timeout=30)


def _free_cpus() -> float:
    return ember.available_resources().get("CPU", 0.0)


def test_a_detached_actors_groups_go_with_its_process(cluster):
    maker = Maker.options(lifetime="detached", name="maker").remote()
    ember.get(maker.make.remote(False), timeout=30)
    ember.get(maker.make.remote(True), timeout=30)
    wait_until(lambda: _free_cpus() == 2)
    ember.kill(maker, no_restart=False)  # it restarts; its process is a new one
    wait_until(lambda: _free_cpus() == 3, what="the actor's own group to be removed")
    # Made again by the restarted actor, and removed again when it is killed.
    ember.get(maker.make.remote(False), timeout=30)
    wait_until(lambda: _free_cpus() == 2)
    ember.kill(maker)
    wait_until(lambda: _free_cpus() == 3)
    kept = get_placement_group("kept")  # the detached group stays
    assert kept.wait(5)
    remove_placement_group(kept)
    wait_until(lambda: _free_cpus() == 4)


def test_a_taken_group_name_is_refused_with_ray_system_error(cluster):
    first = placement_group([{"CPU": 1}], name="only-one")
    assert first.wait(10)
    with pytest.raises(RaySystemError, match="only-one"):
        placement_group([{"CPU": 1}], name="only-one")
    remove_placement_group(first)
    # Once removed, the name is free again.
    again = placement_group([{"CPU": 1}], name="only-one")
    assert again.wait(10)
    remove_placement_group(again)
