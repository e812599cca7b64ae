"""An actor whose process dies in its constructor is restarted (max_restarts), and the
calls made meanwhile wait for a constructor that returns instead of failing: as in Ray,
they never started, so max_task_retries does not apply to them."""

from __future__ import annotations

import os

import pytest

import ember
from ember.exceptions import RayActorError


@ember.remote(max_restarts=3)
class DiesTwiceWhileStarting:
    def __init__(self, marker_dir: str) -> None:
        tries = len(os.listdir(marker_dir))
        if tries < 2:
            open(os.path.join(marker_dir, str(tries)), "w").close()
            os._exit(0)
        self.tries = tries

    def f(self) -> str:
        return f"ok after {self.tries} crashes"


@ember.remote(max_restarts=0)
class AlwaysDies:
    def __init__(self) -> None:
        os._exit(0)

    def f(self) -> str:
        return "never"


def test_calls_wait_through_constructor_crashes_and_restarts(cluster, tmp_path):
    a = DiesTwiceWhileStarting.remote(str(tmp_path))
    calls = [a.f.remote() for _ in range(3)]  # sent at once, max_task_retries=0
    assert ember.get(calls, timeout=60) == ["ok after 2 crashes"] * 3
    assert sorted(os.listdir(tmp_path)) == ["0", "1"]


def test_without_restarts_the_calls_fail_with_the_actors_id(cluster):
    a = AlwaysDies.remote()
    with pytest.raises(RayActorError) as info:
        ember.get(a.f.remote(), timeout=60)
    assert info.value.actor_id == a._actor_id.hex()
