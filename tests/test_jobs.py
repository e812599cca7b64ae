"""Jobs on a head started with `ember start --head`: the SDK, the CLI, stopping, and job
records that outlive a head restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from procs import is_running

from ember.job_submission import JobStatus, JobSubmissionClient

SCRIPT = """
import ember, helper
ember.init()
@ember.remote
def square(x):
    return helper.square(x)
print("sum of squares", sum(ember.get([square.remote(i) for i in range(5)])))
"""


def _ember(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "ember._cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def _start(env: dict, *extra: str) -> dict:
    _ember(env, "start", "--head", "--num-cpus", "2", "--port", "0", "--dashboard-port", "0",
           *extra)
    with open(os.path.join(env["TMPDIR"], f"ember-{os.getuid()}", "current_cluster.json")) as f:
        return json.load(f)


@pytest.fixture
def head(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    for key in ("EMBER_ADDRESS", "EMBER_TMPDIR", "EMBER_CLUSTER_TOKEN"):
        env.pop(key, None)
    info = _start(env)
    with open(info["token_file"]) as f:
        token = f.read()
    client = JobSubmissionClient(info["dashboard_url"],
                                 headers={"Authorization": f"Bearer {token}"})
    yield env, info, client
    client.close()
    _ember(env, "stop", check=False)


@pytest.fixture
def workdir(tmp_path):
    d = tmp_path / "project"
    d.mkdir()
    (d / "script.py").write_text(SCRIPT)
    (d / "helper.py").write_text("def square(x):\n    return x * x\n")
    return d


def _wait(client: JobSubmissionClient, sid: str, timeout: float = 60) -> JobStatus:
    deadline = time.monotonic() + timeout
    while not (status := client.get_job_status(sid)).is_terminal():
        assert time.monotonic() < deadline, f"job {sid} still {status}"
        time.sleep(0.1)
    return status


def test_submitted_job_runs_with_its_uploaded_working_dir(head, workdir):
    _, info, client = head
    sid = client.submit_job(entrypoint="python script.py", runtime_env={
        "working_dir": str(workdir), "env_vars": {"JOB_FLAG": "on"}},
        metadata={"owner": "tests"}, submission_id="squares-1")
    assert sid == "squares-1"

    async def tail() -> str:
        return "".join([chunk async for chunk in client.tail_job_logs(sid)])

    assert "sum of squares 30" in asyncio.run(tail())
    assert _wait(client, sid) == JobStatus.SUCCEEDED
    job = client.get_job_info(sid)
    assert job.driver_exit_code == 0 and job.metadata == {"owner": "tests"}
    assert job.start_time <= job.end_time and job.runtime_env["working_dir"].startswith("gcs://")
    assert "sum of squares 30" in client.get_job_logs(sid)
    assert [j.submission_id for j in client.list_jobs()] == [sid]
    with pytest.raises(RuntimeError, match="already exists"):
        client.submit_job(entrypoint="true", submission_id=sid)


def test_failing_job_is_failed_with_its_exit_code_and_can_be_deleted(head):
    _, _, client = head
    sid = client.submit_job(entrypoint="echo about to fail; exit 3")
    assert _wait(client, sid) == JobStatus.FAILED
    job = client.get_job_info(sid)
    assert job.driver_exit_code == 3 and "exit code 3" in job.message
    assert client.get_job_logs(sid) == "about to fail\n"
    assert client.delete_job(sid)
    with pytest.raises(RuntimeError, match="404"):
        client.get_job_info(sid)


def test_stop_ends_every_process_of_the_job(head, tmp_path):
    _, _, client = head
    pids = tmp_path / "pids"
    code = textwrap.dedent(f"""
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        with open({str(pids)!r} + ".tmp", "w") as f:
            f.write(f"{{os.getpid()}} {{child.pid}}")
        os.replace({str(pids)!r} + ".tmp", {str(pids)!r})
        time.sleep(300)
    """)
    script = tmp_path / "spawner.py"
    script.write_text(code)
    sid = client.submit_job(entrypoint=f"{sys.executable} {script}")
    deadline = time.monotonic() + 30
    while not pids.exists():
        assert time.monotonic() < deadline and client.get_job_status(sid) == JobStatus.RUNNING
        time.sleep(0.05)
    procs = [int(p) for p in pids.read_text().split()]
    with pytest.raises(RuntimeError, match="stop it before deleting"):
        client.delete_job(sid)
    assert client.stop_job(sid)
    assert _wait(client, sid) == JobStatus.STOPPED
    deadline = time.monotonic() + 10
    while any(is_running(p) for p in procs):
        assert time.monotonic() < deadline, "a process of the stopped job is still running"
        time.sleep(0.05)
    assert not client.stop_job(sid)


def test_job_records_survive_a_head_restart(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    for key in ("EMBER_ADDRESS", "EMBER_TMPDIR", "EMBER_CLUSTER_TOKEN"):
        env.pop(key, None)
    storage = str(tmp_path / "state.sqlite")
    env["EMBER_CLUSTER_TOKEN"] = "restart-token"  # the restarted head keeps the same token
    auth = {"Authorization": "Bearer restart-token"}
    info = _start(env, "--storage", storage)
    client = JobSubmissionClient(info["dashboard_url"], headers=auth)
    done = client.submit_job(entrypoint="echo done", submission_id="before-restart")
    assert _wait(client, done) == JobStatus.SUCCEEDED
    running = client.submit_job(entrypoint="sleep 300", submission_id="cut-short")
    while client.get_job_status(running) != JobStatus.RUNNING:
        time.sleep(0.05)
    driver = client.get_job_info(running).driver_pid
    held = client.submit_job(entrypoint="sleep 300", submission_id="held",
                             entrypoint_num_cpus=1)
    while client.get_job_status(held) != JobStatus.RUNNING:
        time.sleep(0.05)
    guard = client.get_job_info(held).driver_pid
    os.kill(int(info["head_pid"]), signal.SIGKILL)  # the head dies without cleaning up
    client.close()
    deadline = time.monotonic() + 10
    while is_running(int(info["head_pid"])):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        info = _start(env, "--storage", storage)
        client = JobSubmissionClient(info["dashboard_url"], headers=auth)
        jobs = {j.submission_id: j for j in client.list_jobs()}
        assert jobs["before-restart"].status == JobStatus.SUCCEEDED
        assert client.get_job_logs("before-restart") == "done\n"
        assert jobs["cut-short"].status == JobStatus.FAILED
        assert "restarted" in jobs["cut-short"].message
        assert jobs["held"].status == JobStatus.FAILED
        deadline = time.monotonic() + 10
        while is_running(guard):  # a supervised driver ends with its head
            assert time.monotonic() < deadline, "the supervised job outlived its head"
            time.sleep(0.05)
        client.close()
    finally:
        try:
            os.killpg(driver, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _ember(env, "stop", check=False)


def test_job_cli_submit_waits_and_reports(head, workdir):
    env, info, _ = head
    assert f"Dashboard: {info['dashboard_url']}" in _ember(env, "status").stdout
    out = _ember(env, "job", "submit", "--working-dir", str(workdir), "--", "python",
                 "script.py")
    assert "sum of squares 30" in out.stdout and "succeeded" in out.stdout
    out = _ember(env, "job", "submit", "--no-wait", "--submission-id", "cli-2", "--",
                 "echo", "from the cli")
    assert "cli-2" in out.stdout
    out = _ember(env, "job", "logs", "--follow", "cli-2")
    assert "from the cli" in out.stdout
    assert "SUCCEEDED" in _ember(env, "job", "status", "cli-2").stdout
    listed = _ember(env, "job", "list").stdout
    assert "cli-2" in listed and listed.count("SUCCEEDED") == 2
    trace = os.path.join(env["TMPDIR"], "trace.json")
    _ember(env, "timeline", "--output", trace)
    with open(trace) as f:  # the tasks of the first job's driver ran on the head
        spans = [e for e in json.load(f) if e["ph"] == "X" and e["name"] == "square"]
    assert len(spans) == 5 and all(e["dur"] >= 0 for e in spans)
    assert "job-driver-cli-2.log" in _ember(env, "logs").stdout
    assert _ember(env, "logs", "job-driver-cli-2*", "--tail", "1").stdout == "from the cli\n"
    # Entrypoint resources: the driver runs under a supervisor actor holding them.
    out = _ember(env, "job", "submit", "--entrypoint-num-cpus", "2", "--entrypoint-memory",
                 "1000000", "--entrypoint-resources", "{}", "--", "echo", "held two")
    assert "held two" in out.stdout and "succeeded" in out.stdout
    failed = _ember(env, "job", "submit", "--", "exit 4", check=False)
    assert failed.returncode == 1 and "failed" in failed.stdout


def test_bad_job_requests_are_refused_with_the_reason(head):
    _, info, client = head
    import httpx

    auth = client._headers
    for body, why in (({"entrypoint": ""}, "entrypoint"),
                      ({"entrypoint": "true", "metadata": {"a": 1}}, "metadata"),
                      ({"entrypoint": "true", "entrypoint_num_cpus": -1}, "entrypoint_num_cpus"),
                      ({"entrypoint": "true", "runtime_env": []}, "runtime_env"),
                      ({"entrypoint": "true", "submission_id": "../x"}, "submission_id"),
                      ({"entrypoint": "true", "surprise": 1}, "surprise")):
        r = httpx.post(info["dashboard_url"] + "/api/jobs/", json=body, headers=auth)
        assert r.status_code == 400 and why in r.json()["error"], (body, r.text)
    assert client.list_jobs() == []
