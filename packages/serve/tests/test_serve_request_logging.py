"""A replica logs each failed request with its exception on the `ray.serve` logger (Ray's
Serve logger name), and the caller gets the user's exception itself, not one chained to
itself."""

from __future__ import annotations

import logging

import pytest

import ember
from ember import serve


@ember.remote(num_cpus=0)
class Records:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, bool]] = []

    def add(self, row: tuple[str, str, str, bool]) -> None:
        self.rows.append(row)

    def get(self) -> list[tuple[str, str, str, bool]]:
        return self.rows


class _Forward(logging.Handler):
    def __init__(self, records) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return
        self.records.add.remote((record.name, record.getMessage(), str(exc),
                                 exc.__cause__ is exc))


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Failing:
    def __init__(self, records) -> None:
        logging.getLogger("ray.serve").addHandler(_Forward(records))

    async def fail(self) -> None:
        raise ValueError("user code exception")

    def fail_sync(self) -> None:
        raise KeyError("sync failure")

    def ok(self) -> str:
        return "fine"


def test_failed_requests_are_logged_on_the_serve_logger(serve_url, cleanup_apps, wait):
    records = Records.remote()
    handle = serve.run(Failing.bind(records), name="logging")
    assert handle.ok.remote().result(timeout_s=30) == "fine"
    with pytest.raises(ValueError, match="user code exception") as info:
        handle.fail.remote().result(timeout_s=30)
    assert info.value.__cause__ is not info.value
    with pytest.raises(KeyError, match="sync failure"):
        handle.fail_sync.remote().result(timeout_s=30)
    rows = wait(lambda: (r := ember.get(records.get.remote())) and len(r) >= 2 and r,
                what="two logged failures")
    assert sorted(rows) == [("ray.serve", "Request failed.", "'sync failure'", False),
                            ("ray.serve", "Request failed.", "user code exception", False)]
