"""ember.timeline(): a Chrome trace with each task's and actor call's real start and
duration, one lane per worker."""

from __future__ import annotations

import json
import time

import pytest

import ember

pytestmark = pytest.mark.usefixtures("cluster")

BUSY_S = 0.03


def _busy(seconds: float) -> int:
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


@ember.remote
def spin(seconds):
    return _busy(seconds)


@ember.remote
class Spinner:
    def spin(self, seconds):
        return _busy(seconds)


def test_tasks_and_actor_calls_have_real_durations_in_order(tmp_path):
    for _ in range(3):  # one after another: each starts after the last ended
        ember.get(spin.remote(BUSY_S))
    actor = Spinner.remote()
    ember.get([actor.spin.remote(BUSY_S) for _ in range(2)])
    path = tmp_path / "trace.json"
    events = ember.timeline(str(path))
    assert json.loads(path.read_text()) == events
    spans = [e for e in events if e["ph"] == "X"]
    tasks = [e for e in spans if e["name"].endswith("spin") and e["cat"] == "NORMAL_TASK"][-3:]
    calls = [e for e in spans if e["cat"] == "ACTOR_TASK"][-2:]
    assert len(tasks) == 3 and len(calls) == 2
    for e in tasks + calls:
        assert e["dur"] >= BUSY_S * 1e6 * 0.9, e  # microseconds, the busy loop's length
        assert e["tid"] > 0 and e["pid"] >= 1
    for a, b in zip(tasks, tasks[1:], strict=False):
        assert b["ts"] >= a["ts"] + a["dur"] * 0.9
    # Both calls were sent to the actor at once; it ran them one after the other, and the
    # spans are when it ran each (not when each was queued), so they do not overlap.
    assert calls[1]["ts"] >= calls[0]["ts"] + calls[0]["dur"]
    assert calls[0]["tid"] == calls[1]["tid"]
    # Times are kept to the microsecond: even a task that does nothing takes some.
    ember.get(spin.remote(0))
    quick = [e for e in ember.timeline() if e["ph"] == "X" and e["name"].endswith("spin")]
    assert quick[-1]["dur"] > 0
    lanes = {(e["pid"], e["tid"]) for e in events if e["ph"] == "M"
             and e["name"] == "thread_name"}
    assert {(e["pid"], e["tid"]) for e in spans} <= lanes
    ember.kill(actor)
