"""Following a job's log: Ray's WebSocket `/api/jobs/{id}/logs/tail` read by
JobSubmissionClient.tail_job_logs, and the plain streamed GET the web UI reads."""

from __future__ import annotations

import asyncio
import sys
import time

import httpx
import pytest

import ember
from ember.job_submission import JobStatus, JobSubmissionClient


@pytest.fixture(scope="module")
def client():
    ember.init(num_cpus=1)
    jobs = JobSubmissionClient(ember._core.caller.context.session.info["dashboard_url"])
    yield jobs
    jobs.close()
    ember.shutdown()


def _gated_job(client: JobSubmissionClient, gate) -> str:
    # The second line is printed only after the test has read the first one.
    return client.submit_job(entrypoint=(
        f"echo before the gate; while [ ! -e {gate} ]; do sleep 0.05; done; "
        f"{sys.executable} -c \"print('after the gate, caf\\u00e9')\""))


def test_tail_job_logs_follows_a_running_job_over_a_websocket(client, tmp_path):
    gate = tmp_path / "gate"
    sid = _gated_job(client, gate)

    async def follow() -> list[str]:
        seen: list[str] = []
        async for text in client.tail_job_logs(sid):
            seen.append(text)
            if "before the gate" in "".join(seen):
                gate.touch()
        return seen

    messages = asyncio.run(asyncio.wait_for(follow(), 60))
    assert "".join(messages) == "before the gate\nafter the gate, café\n"
    assert len(messages) >= 2  # the first line came while the job was still running
    assert client.get_job_status(sid) == JobStatus.SUCCEEDED


def test_websocket_tail_of_an_unknown_job_is_refused_with_the_reason(client):
    async def follow() -> None:
        async for _ in client.tail_job_logs("no-such-job"):
            pass

    with pytest.raises(RuntimeError, match="404.*does not exist"):
        asyncio.run(follow())


def test_websocket_tail_closes_when_the_client_leaves_a_quiet_job(client, tmp_path):
    gate = tmp_path / "gate"
    sid = _gated_job(client, gate)

    async def first_message() -> str:
        async for text in client.tail_job_logs(sid):
            return text  # leaves while the job is still running and silent
        return ""

    assert asyncio.run(asyncio.wait_for(first_message(), 60)) == "before the gate\n"
    assert client.get_job_status(sid) == JobStatus.RUNNING
    gate.touch()
    deadline = time.monotonic() + 60
    while not client.get_job_status(sid).is_terminal():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get_job_logs(sid).endswith("after the gate, café\n")


def test_streamed_get_tail_still_serves_the_browser(client, tmp_path):
    gate = tmp_path / "gate"
    sid = _gated_job(client, gate)
    url = client.get_address() + f"/api/jobs/{sid}/logs/tail"
    got = b""
    with httpx.stream("GET", url, headers=client._headers, timeout=60) as r:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            got += chunk
            if b"before the gate" in got:
                gate.touch()
    assert got.decode() == "before the gate\nafter the gate, café\n"
