"""Jobs with entrypoint resources: a supervisor actor holds them while the job's driver
runs; a job whose resources are taken waits PENDING and starts when they free up."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest
from procs import is_running

import ember
from ember.job_submission import JobStatus, JobSubmissionClient
from ember.util import state


@pytest.fixture(scope="module")
def client():
    ember.init(num_cpus=2, num_gpus=1, resources={"slot": 1})
    jobs = JobSubmissionClient(ember._core.caller.context.session.info["dashboard_url"])
    yield jobs
    jobs.close()
    ember.shutdown()


def _wait_for(client: JobSubmissionClient, sid: str, *wanted: JobStatus,
              timeout: float = 60) -> JobStatus:
    deadline = time.monotonic() + timeout
    while (status := client.get_job_status(sid)) not in wanted:
        assert time.monotonic() < deadline, f"job {sid} still {status}"
        time.sleep(0.05)
    return status


def _cpus_free() -> float:
    return ember.available_resources().get("CPU", 0.0)


def test_second_job_waits_pending_until_the_first_frees_its_cpus(client, tmp_path):
    gate = tmp_path / "gate"
    first = client.submit_job(
        entrypoint=f"echo first started; while [ ! -e {gate} ]; do sleep 0.05; done; "
                   "echo first done",
        entrypoint_num_cpus=2)
    assert _wait_for(client, first, JobStatus.RUNNING) == JobStatus.RUNNING
    # The supervisor actor holds the job's 2 CPUs while its driver runs.
    assert _cpus_free() == 0.0
    supervisors = state.list_actors(filters=[("class_name", "=", "JobSupervisor"),
                                             ("state", "=", "ALIVE")])
    assert len(supervisors) == 1
    second = client.submit_job(entrypoint="echo second ran", entrypoint_num_cpus=2)
    info = client.get_job_info(second)
    assert info.status == JobStatus.PENDING and "waiting for resources" in info.message
    assert info.entrypoint_num_cpus == 2
    while "first started" not in client.get_job_logs(first):
        time.sleep(0.05)
    # Still pending while the first job runs: nothing frees its CPUs before the gate.
    assert client.get_job_status(second) == JobStatus.PENDING
    assert client.get_job_status(first) == JobStatus.RUNNING
    gate.touch()
    assert _wait_for(client, first, JobStatus.SUCCEEDED) == JobStatus.SUCCEEDED
    assert client.get_job_logs(first) == "first started\nfirst done\n"
    assert _wait_for(client, second, JobStatus.SUCCEEDED) == JobStatus.SUCCEEDED
    assert client.get_job_logs(second) == "second ran\n"
    job = client.get_job_info(second)
    assert job.driver_exit_code == 0 and job.driver_node_id == ember.get_runtime_context(
        ).get_node_id()
    deadline = time.monotonic() + 30
    while _cpus_free() != 2.0:  # the supervisors are gone with their jobs
        assert time.monotonic() < deadline, ember.available_resources()
        time.sleep(0.05)


def test_custom_resources_and_exit_codes_pass_through(client):
    sid = client.submit_job(entrypoint="echo on a slot; exit 5",
                            entrypoint_resources={"slot": 1}, entrypoint_num_cpus=0.5)
    assert _wait_for(client, sid, JobStatus.FAILED) == JobStatus.FAILED
    job = client.get_job_info(sid)
    assert job.driver_exit_code == 5 and "exit code 5" in job.message
    assert client.get_job_logs(sid) == "on a slot\n"


def test_a_gpu_jobs_driver_sees_the_gpu_it_holds(client):
    sid = client.submit_job(entrypoint="echo gpus=$CUDA_VISIBLE_DEVICES",
                            entrypoint_num_gpus=1)
    assert _wait_for(client, sid, JobStatus.SUCCEEDED) == JobStatus.SUCCEEDED
    assert client.get_job_logs(sid) == "gpus=0\n"


def test_stop_ends_every_process_of_a_supervised_job(client, tmp_path):
    pids = tmp_path / "pids"
    script = tmp_path / "spawner.py"
    script.write_text(textwrap.dedent(f"""
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        with open({str(pids)!r} + ".tmp", "w") as f:
            f.write(f"{{os.getpid()}} {{child.pid}}")
        os.replace({str(pids)!r} + ".tmp", {str(pids)!r})
        time.sleep(300)
    """))
    sid = client.submit_job(entrypoint=f"{sys.executable} {script}", entrypoint_num_cpus=1)
    deadline = time.monotonic() + 60
    while not pids.exists():
        assert time.monotonic() < deadline and client.get_job_status(sid) in (
            JobStatus.PENDING, JobStatus.RUNNING)
        time.sleep(0.05)
    procs = [int(p) for p in pids.read_text().split()]
    assert client.get_job_status(sid) == JobStatus.RUNNING and _cpus_free() == 1.0
    assert client.stop_job(sid)
    assert _wait_for(client, sid, JobStatus.STOPPED) == JobStatus.STOPPED
    deadline = time.monotonic() + 15
    while any(is_running(p) for p in procs) or _cpus_free() != 2.0:
        assert time.monotonic() < deadline, "a process of the stopped job is still running"
        time.sleep(0.05)


def test_a_pending_job_can_be_stopped(client):
    sid = client.submit_job(entrypoint="echo never", entrypoint_num_cpus=64)
    assert client.get_job_status(sid) == JobStatus.PENDING
    assert client.stop_job(sid)
    assert _wait_for(client, sid, JobStatus.STOPPED) == JobStatus.STOPPED
    assert "never" not in client.get_job_logs(sid)
