"""The dashboard of an embedded cluster: token gate, paged state API, summaries, timeline."""

from __future__ import annotations

import os

import httpx
import pytest

import ember
from ember.util import state


@pytest.fixture(scope="module")
def dash():
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read()
    client = httpx.Client(base_url=info["dashboard_url"], timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    yield info, client
    client.close()
    ember.shutdown()


@ember.remote
def square(x):
    return x * x


@ember.remote
def other(x):
    return x


@ember.remote
class Keeper:
    def ping(self):
        return "pong"


def test_init_returns_the_url_and_the_server_binds_localhost(dash):
    info, _ = dash
    assert info["dashboard_url"].startswith("http://127.0.0.1:")
    assert oct(os.stat(os.path.join(info["session_dir"], "token")).st_mode & 0o777) == "0o600"


def test_every_endpoint_needs_the_token_but_the_token_page(dash):
    info, client = dash
    url = info["dashboard_url"]
    for path in ("/api/v0/tasks", "/api/jobs/", "/metrics", "/api/v0/logs", "/api/version"):
        assert httpx.get(url + path).status_code == 401
        assert httpx.get(url + path, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get(path).status_code == 200
    page = httpx.get(url + "/")
    assert page.status_code == 200 and "Cluster token" in page.text


def test_task_list_is_paged_filtered_and_counted_on_the_server(dash):
    _, client = dash
    ember.get([square.remote(i) for i in range(30)] + [other.remote(i) for i in range(5)])
    first = client.get("/api/v0/tasks", params={"limit": 10}).json()["data"]["result"]
    assert first["total"] >= 35 and len(first["result"]) == 10
    assert first["num_after_truncation"] == 10
    q = {"filter_keys": "name", "filter_predicates": "=", "filter_values": "other",
         "limit": 3, "offset": 3}
    page = client.get("/api/v0/tasks", params=q).json()["data"]["result"]
    assert page["total"] == 5 and len(page["result"]) == 2
    assert all(r["name"] == "other" and r["state"] == "FINISHED" for r in page["result"])
    beyond = client.get("/api/v0/tasks", params={"offset": 10_000}).json()["data"]["result"]
    assert beyond["result"] == [] and beyond["total"] >= 35
    assert client.get("/api/v0/tasks", params={"limit": "x"}).status_code == 400
    assert client.get("/api/v0/tasks", params={"limit": 10**9}).status_code == 400
    q = {"filter_keys": "name", "filter_predicates": "~", "filter_values": "x"}
    assert client.get("/api/v0/tasks", params=q).status_code == 400


def test_state_rows_carry_real_times_and_pids(dash):
    _, client = dash
    ember.get(square.remote(3))
    q = {"filter_keys": "name", "filter_predicates": "=", "filter_values": "square"}
    row = client.get("/api/v0/tasks", params=q).json()["data"]["result"]["result"][0]
    assert row["creation_time_ms"] <= row["start_time_ms"] <= row["end_time_ms"]
    assert row["pid"] and row["pid"] != os.getpid()


def test_actors_nodes_workers_and_summaries(dash):
    _, client = dash
    assert ember.get([square.remote(i) for i in range(30)]) == [i * i for i in range(30)]
    keeper = Keeper.remote()
    assert ember.get(keeper.ping.remote()) == "pong"
    actors = client.get("/api/v0/actors").json()["data"]["result"]
    assert any(a["class_name"] == "Keeper" and a["state"] == "ALIVE" for a in actors["result"])
    nodes = client.get("/api/v0/nodes").json()["data"]["result"]
    assert nodes["total"] == 1 and nodes["result"][0]["resources_total"]["CPU"] == 2
    workers = client.get("/api/v0/workers").json()["data"]["result"]["result"]
    assert workers and all(w["pid"] > 0 for w in workers)
    summary = client.get("/api/v0/actors/summarize").json()["data"]["result"]
    assert summary["summary"]["Keeper"]["state_counts"]["ALIVE"] >= 1
    tasks = client.get("/api/v0/tasks/summarize").json()["data"]["result"]
    assert tasks["summary"]["square"]["state_counts"]["FINISHED"] >= 30
    ember.kill(keeper)


def test_state_api_completes_rays(dash):
    ref = ember.put(b"x" * 200_000)
    oid = ref.hex()
    assert state.get_objects(oid)[0]["object_id"] == oid
    assert state.summarize_objects()["cluster"]["total"] >= 1
    keeper = Keeper.remote()
    ember.get(keeper.ping.remote())
    rows = state.list_actors(filters=[("class_name", "=", "Keeper"), ("state", "=", "ALIVE")])
    assert state.get_actor(rows[0]["actor_id"])["class_name"] == "Keeper"
    assert state.summarize_actors()["cluster"]["summary"]["Keeper"]["state_counts"]["ALIVE"]
    assert len(state.list_tasks(limit=3)) == 3
    assert all(w.pid > 0 for w in state.list_workers())
    ember.kill(keeper)


def test_timeline_endpoint_is_a_chrome_trace(dash):
    _, client = dash
    ember.get(square.remote(2))
    events = client.get("/api/v0/timeline").json()
    spans = [e for e in events if e["ph"] == "X"]
    assert spans and all(e["dur"] >= 0 and e["ts"] > 0 for e in spans)
    assert any(e["ph"] == "M" and e["name"] == "thread_name" for e in events)


def test_an_embedded_cluster_runs_submitted_jobs_on_its_own_node(dash, tmp_path):
    import time

    from ember.job_submission import JobStatus, JobSubmissionClient

    _, http = dash
    wd, lib = tmp_path / "wd", tmp_path / "joblib_mod"
    wd.mkdir()
    lib.mkdir()
    (lib / "__init__.py").write_text("ONE = 1\n")
    (wd / "job.py").write_text(
        "import ember, joblib_mod\n"
        "ember.init()\n"
        "@ember.remote\n"
        "def from_the_job(x):\n"
        "    import joblib_mod\n"
        "    return x + joblib_mod.ONE\n"
        "print('job says', ember.get(from_the_job.remote(40 + joblib_mod.ONE)))\n")
    client = JobSubmissionClient()  # finds this process's cluster and its token
    sid = client.submit_job(entrypoint="python job.py", runtime_env={
        "working_dir": str(wd), "py_modules": [str(lib)]})  # both uploaded
    deadline = time.monotonic() + 60
    while not client.get_job_status(sid).is_terminal():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.get_job_status(sid) == JobStatus.SUCCEEDED, client.get_job_logs(sid)
    assert "job says 42" in client.get_job_logs(sid)
    env = client.get_job_info(sid).runtime_env
    assert env["working_dir"].startswith("gcs://_ray_pkg_")
    assert env["py_modules"][0].startswith("gcs://_ray_pkg_")
    kinds = {(j["type"], j.get("submission_id")) for j in state.list_jobs()}
    assert ("SUBMISSION", sid) in kinds and any(t == "DRIVER" for t, _ in kinds)
    assert [j.submission_id for j in state.list_jobs(filters=[("type", "=", "SUBMISSION")])
            ] == [sid]
    q = {"filter_keys": "name", "filter_predicates": "=", "filter_values": "from_the_job"}
    assert http.get("/api/v0/tasks", params=q).json()["data"]["result"]["total"] == 1
    client.close()


def test_include_dashboard_false_starts_none(shutdown_after):
    info = ember.init(num_cpus=1, include_dashboard=False)
    assert info["dashboard_url"] is None


def test_the_web_stack_loads_only_when_the_dashboard_is_first_used():
    import subprocess
    import sys

    code = ("import sys, os, ember, urllib.request\n"
            "info = ember.init(num_cpus=1, dashboard_port=0)\n"
            "before = 'starlette' in sys.modules or 'uvicorn' in sys.modules\n"
            "urllib.request.urlopen(info['dashboard_url'] + '/').read()\n"
            "print(before, 'uvicorn' in sys.modules)\n"
            "ember.shutdown()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["False", "True"], out.stdout + out.stderr


def test_exported_names():
    import ember.job_submission as js
    from ember.util import metrics

    assert js.__all__ == sorted(js.__all__)
    assert {"JobSubmissionClient", "JobStatus", "JobInfo"} <= set(js.__all__)
    assert metrics.__all__ == sorted(metrics.__all__)
    assert state.__all__ == sorted(state.__all__)
    for name in ("get_objects", "summarize_actors", "summarize_objects", "list_logs",
                 "get_log", "list_workers"):
        assert callable(getattr(state, name))
    assert ember.job_submission.JobStatus.SUCCEEDED.is_terminal()


@ember.remote
def chatty(text):
    print(text)
    return os.getpid()


def test_worker_output_is_kept_per_worker_and_served(dash):
    pid = ember.get(chatty.remote("hello from a worker"))
    name = f"worker-{pid}.out"
    files = [f for fs in state.list_logs().values() for f in fs]
    assert name in files
    assert "".join(state.get_log(filename=name, tail=5)).endswith("hello from a worker\n")
    with pytest.raises(ValueError):
        list(state.get_log(filename="../token"))
