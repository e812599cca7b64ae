"""The bounded spin that the runtime's waits (a driver in get, a worker between calls, a
compiled graph's channel reads) make before they sleep: it returns what it waited for,
and stops spinning where spins run out or lose their core."""

from __future__ import annotations

import time

from ember._core.common.spin import MAX_BACKOFF, Spinner, wait_spin_s


class Ready:
    """A `ready()` that turns true at its `after`-th call; counts its calls."""

    def __init__(self, after: int = 1, value: object = "msg") -> None:
        self.after, self.value, self.calls = after, value, 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value if self.calls >= self.after else None


def _spin_until_true(s: Spinner, ready: Ready) -> object:
    """Spin again until `ready` turns true: on a loaded machine a spin may lose its core
    part way, and then it rightly stops (returning None) before `ready` is true."""
    for _ in range(1000):
        s._skip = 0
        got = s.spin(ready)
        if got is not None:
            return got
    return None


def test_a_spin_returns_what_ready_returned_once_true():
    ready = Ready(after=50)
    assert _spin_until_true(Spinner(1.0), ready) == "msg"
    assert ready.calls == 50


def test_a_yielding_spin_returns_the_same():
    ready = Ready(after=20)
    assert _spin_until_true(Spinner(1.0, yielding=True), ready) == "msg"
    assert ready.calls == 20


def test_a_zero_limit_never_spins():
    ready = Ready()
    assert Spinner(0.0).spin(ready) is None
    assert ready.calls == 0


def test_spins_that_run_out_are_skipped_doubling_and_successes_halve_that():
    s = Spinner(20e-6)
    never = Ready(after=10**12)
    assert s.spin(never) is None  # ran out: skip the next 1
    before = never.calls
    assert s.spin(never) is None
    assert never.calls == before  # skipped, ready() not called
    assert s.spin(never) is None  # ran out again: skip the next 2
    before = never.calls
    assert [s.spin(never), s.spin(never)] == [None, None]
    assert never.calls == before
    for _ in range(2200):  # 11 more spins that run out, and the 2,047 skipped between
        s.spin(never)
    assert s._backoff == MAX_BACKOFF
    # A spin that gets its answer halves the back-off (one that lost its core part way
    # doubles it back, so look over a few).
    backoffs = []
    for _ in range(20):
        s._skip = 0
        assert s.spin(Ready()) == "msg"
        backoffs.append(s._backoff)
    assert MAX_BACKOFF // 2 in backoffs and min(backoffs) < MAX_BACKOFF // 2


def test_a_spin_that_loses_its_core_stops_and_backs_off():
    s = Spinner(1.0)
    calls = []

    def descheduled() -> None:  # as if another process took the core for a millisecond
        calls.append(1)
        time.sleep(0.002)

    t = time.perf_counter()
    assert s.spin(descheduled) is None
    assert len(calls) == 1 and time.perf_counter() - t < 0.5
    assert s.spin(Ready()) is None  # the next spin is skipped


def test_ember_spin_us_sets_the_waits_limit(monkeypatch):
    monkeypatch.setenv("EMBER_SPIN_US", "0")
    assert wait_spin_s() == 0.0
    monkeypatch.setenv("EMBER_SPIN_US", "250")
    assert abs(wait_spin_s() - 250e-6) < 1e-12
