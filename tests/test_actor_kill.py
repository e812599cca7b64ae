"""kill() right after creation: the kill counts, as in Ray, even before the actor's process
has started."""

from __future__ import annotations

import ember


def test_kill_before_start_counts_against_max_restarts(shutdown_after):
    ember.init(num_cpus=1)

    @ember.remote(num_cpus=1)
    class Actor:
        def foo(self):
            return ember.get_runtime_context().was_current_actor_reconstructed

    first = Actor.remote()
    ember.kill(first)  # not restartable: dead at once, its CPU free for the next
    second = Actor.remote()
    assert ember.get(second.foo.remote(), timeout=60) is False
    ember.kill(second)

    a = Actor.options(max_restarts=1, max_task_retries=-1).remote()
    ember.kill(a, no_restart=False)  # before it started: this uses its one restart
    assert ember.get(a.foo.remote(), timeout=60) is True
    ember.kill(a, no_restart=False)  # no restart left: it dies and frees its CPU
    b = Actor.remote()
    assert ember.get(b.foo.remote(), timeout=60) is False
