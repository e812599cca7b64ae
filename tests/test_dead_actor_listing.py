"""list_actors shows every live actor and only the newest dead ones, up to
RAY_maximum_gcs_destroyed_actor_cached_count, as Ray's actor table keeps them."""

from __future__ import annotations

from waiting import wait_until

import ember
from ember.util.state import list_actors, summarize_actors


def test_only_newest_dead_actors_are_listed(monkeypatch, shutdown_after):
    monkeypatch.setenv("RAY_maximum_gcs_destroyed_actor_cached_count", "3")
    ember.init(num_cpus=1)

    @ember.remote
    class Actor:
        def ready(self) -> None:
            pass

    first = [Actor.remote() for _ in range(4)]
    ember.get([a.ready.remote() for a in first], timeout=60)
    first_ids = {a._actor_id.hex() for a in first}
    for a in first:
        ember.kill(a)
    wait_until(lambda: {r.state for r in list_actors()} == {"DEAD"}, "the kills")
    assert len(list_actors()) == 3

    second = [Actor.remote() for _ in range(3)]
    ember.get([a.ready.remote() for a in second], timeout=60)
    rows = list_actors()
    assert sorted(r.state for r in rows) == ["ALIVE"] * 3 + ["DEAD"] * 3  # live ones all
    for a in second:
        ember.kill(a)
    second_ids = {a._actor_id.hex() for a in second}
    wait_until(lambda: {r.actor_id for r in list_actors()} == second_ids,
               "the newest dead actors to replace the older ones")
    assert not first_ids & {r.actor_id for r in list_actors()}
    assert summarize_actors()["cluster"]["total"] == 3
