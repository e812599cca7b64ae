"""The dashboard's web UI in a real headless Chromium (Debian's `chromium`, driven by
Playwright), against a running cluster: token page, overview, actors, jobs and their
followed logs, paging with the total count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import ember
from ember.job_submission import JobSubmissionClient

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
WAIT_MS = 20_000

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)")


@ember.remote
class UiProbeActor:
    def ping(self) -> str:
        return "pong"


@ember.remote
def ui_page_task(i: int) -> int:
    return i


JOB_SCRIPT = textwrap.dedent("""
    import os, sys, time
    for i in range(3):
        print(f"ui-job line {i}", flush=True)
    marker = sys.argv[1]
    deadline = time.monotonic() + 60
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("printed after the page opened", flush=True)
""")


@pytest.fixture(scope="module")
def ui_cluster(tmp_path_factory):
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read().strip()
    actor = UiProbeActor.remote()
    assert ember.get(actor.ping.remote()) == "pong"
    ember.get([ui_page_task.remote(i) for i in range(120)])
    work = tmp_path_factory.mktemp("ui_job")
    (work / "job.py").write_text(JOB_SCRIPT)
    marker = work / "go"
    client = JobSubmissionClient(info["dashboard_url"])
    job_id = client.submit_job(entrypoint=f"{sys.executable} {work / 'job.py'} {marker}")
    deadline = time.monotonic() + 60  # the job's first lines exist before any page opens
    while "ui-job line 2" not in client.get_job_logs(job_id):
        assert time.monotonic() < deadline, client.get_job_info(job_id)
        time.sleep(0.05)
    yield {"url": info["dashboard_url"], "token": token, "job_id": job_id,
           "marker": marker, "client": client}
    marker.touch()  # lets the job end if a test failed before it did
    ember.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, ui_cluster):
    """A fresh tab (fresh sessionStorage) signed in with the cluster token."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(ui_cluster["url"] + "/")
    tab.fill("#token", ui_cluster["token"])
    tab.click("#login-form button")
    tab.wait_for_selector("#app:not([hidden])")
    yield tab
    context.close()


def test_token_page_refuses_a_wrong_token_and_accepts_the_right_one(browser, ui_cluster):
    from playwright.sync_api import expect

    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    try:
        tab.goto(ui_cluster["url"] + "/")
        expect(tab.locator("#login")).to_be_visible()
        tab.fill("#token", "not-the-token")
        tab.click("#login-form button")
        expect(tab.locator("#login-error")).to_have_text("The token was refused.")
        expect(tab.locator("#app")).to_be_hidden()
        assert tab.evaluate("sessionStorage.getItem('emberToken')") is None
        tab.fill("#token", ui_cluster["token"])
        tab.click("#login-form button")
        expect(tab.locator("#app")).to_be_visible()
        assert tab.evaluate("sessionStorage.getItem('emberToken')") == ui_cluster["token"]
        # The token is kept for the tab: a reload goes straight to the app.
        tab.reload()
        expect(tab.locator("#app")).to_be_visible()
        expect(tab.locator("#nodes tbody tr")).to_have_count(1)
    finally:
        context.close()


def test_overview_shows_the_node_with_its_resources(page):
    from playwright.sync_api import expect

    node_id = ember.nodes()[0]["NodeID"]
    row = page.locator("#nodes tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(node_id[:12])
    expect(row).to_contain_text("ALIVE")
    expect(row).to_contain_text("/ 2")  # CPU used of 2 logical CPUs
    expect(page.locator(".card", has_text="Actors")).to_contain_text("ALIVE")


def test_actors_page_lists_the_actor_by_class_name(page):
    from playwright.sync_api import expect

    page.click("#tabs a[data-page=actors]")
    row = page.locator("tbody tr", has_text="UiProbeActor")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ALIVE")


def test_jobs_page_shows_the_job_and_follows_its_logs(page, ui_cluster):
    from playwright.sync_api import expect

    job_id = ui_cluster["job_id"]
    page.click("#tabs a[data-page=jobs]")
    link = page.locator("tbody a", has_text=job_id)
    expect(link).to_have_count(1)
    link.click()
    expect(page.locator("h2")).to_have_text(f"Job {job_id}")
    expect(page.locator("pre.log")).to_contain_text("ui-job line 2")
    page.check("input[name=follow]")
    expect(page.locator("pre.log")).to_contain_text("ui-job line 2")
    assert "printed after the page opened" not in page.locator("pre.log").inner_text()
    ui_cluster["marker"].touch()
    expect(page.locator("pre.log")).to_contain_text("printed after the page opened")
    expect(page.locator("pre.log")).to_contain_text("end of log")
    expect(page.locator("dl.record")).to_contain_text("SUCCEEDED")


def test_task_list_is_paged_with_the_total_count(page):
    from playwright.sync_api import expect

    page.click("#tabs a[data-page=tasks]")
    page.select_option("select[name=key]", "name")
    page.fill("input[name=value]", "ui_page_task")
    page.click(".filters button[type=submit]")
    count = page.locator(".pager .count")
    expect(count).to_have_text("showing 1–50 of 120")
    expect(page.locator("tbody tr")).to_have_count(50)
    page.click("text=Next ›")
    expect(count).to_have_text("showing 51–100 of 120")
    page.click("text=Next ›")
    expect(count).to_have_text("showing 101–120 of 120")
    expect(page.locator("tbody tr")).to_have_count(20)
    expect(page.locator("text=Next ›")).to_be_disabled()


def test_serve_page_shows_applications_with_their_configs_and_replicas(page, ui_cluster):
    import httpx
    from playwright.sync_api import expect

    from ember import serve

    @serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0},
                      user_config={"greeting": "hi"}, max_ongoing_requests=7)
    class UiEcho:
        def reconfigure(self, config: dict) -> None:
            self.greeting = config["greeting"]

        def __call__(self, request) -> str:
            return self.greeting

    serve.start(http_options={"host": "127.0.0.1", "port": 0})
    try:
        serve.run(UiEcho.bind(), name="uiapp", route_prefix="/echo")
        r = httpx.get(ui_cluster["url"] + "/api/serve/applications/",
                      headers={"Authorization": f"Bearer {ui_cluster['token']}"}, timeout=30)
        app = r.json()["applications"]["uiapp"]
        deployment = app["deployments"]["UiEcho"]
        assert app["route_prefix"] == "/echo" and app["status"] == "RUNNING"
        assert deployment["deployment_config"]["user_config"] == {"greeting": "hi"}
        assert deployment["deployment_config"]["max_ongoing_requests"] == 7
        assert len(deployment["replicas"]) == 2
        page.click("#tabs a[data-page=serve]")
        card = page.locator(".serve-app[data-app=uiapp]")
        expect(card).to_contain_text("RUNNING")
        expect(card).to_contain_text("/echo")
        row = card.locator("tr[data-deployment=UiEcho]")
        expect(row).to_contain_text("2")
        row.locator("details.config summary").click()
        config = row.locator("details.config pre")
        expect(config).to_contain_text('"greeting": "hi"')
        expect(config).to_contain_text('"max_ongoing_requests": 7')
        expect(config).to_contain_text('"num_replicas": 2')
        replicas = page.locator("tbody tr", has_text="UiEcho").filter(has_text="ALIVE")
        expect(replicas).to_have_count(2)
        expect(replicas.first).to_contain_text("uiapp")
        expect(page.locator("tbody tr", has_text="controller")).to_have_count(1)
    finally:
        serve.shutdown()


def _ember(env: dict, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ember._cli", *args], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_overview_shows_memory_of_every_node_of_a_cluster(browser, tmp_path):
    """A head and a worker node: each node's row has its memory and object store bars
    (reported by its heartbeat), and the head answers the Serve API as a driver."""
    import httpx
    from playwright.sync_api import expect

    env = dict(os.environ, TMPDIR=str(tmp_path))
    for key in ("EMBER_ADDRESS", "EMBER_TMPDIR", "EMBER_CLUSTER_TOKEN"):
        env.pop(key, None)
    _ember(env, "start", "--head", "--num-cpus", "1", "--port", "0", "--dashboard-port", "0")
    context = None
    try:
        info = json.loads((tmp_path / f"ember-{os.getuid()}" /
                           "current_cluster.json").read_text())
        _ember(env, "start", "--address", info["gcs_address"], "--num-cpus", "1")
        token = open(info["token_file"]).read().strip()
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.get(info["dashboard_url"] + "/api/serve/applications/", headers=auth,
                      timeout=60)
        assert r.status_code == 200 and r.json()["applications"] == {}
        deadline = time.monotonic() + 30
        while True:  # both nodes have sent a heartbeat with their usage
            rows = httpx.get(info["dashboard_url"] + "/api/v0/nodes", headers=auth,
                             timeout=30).json()["data"]["result"]["result"]
            if len(rows) == 2 and all(r.get("object_store_capacity") for r in rows):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        assert all(0 < r["mem_used"] <= r["mem_total"] for r in rows)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.goto(info["dashboard_url"] + "/")
        tab.fill("#token", token)
        tab.click("#login-form button")
        rows = tab.locator("#nodes tbody tr")
        expect(rows).to_have_count(2)
        for i in range(2):
            expect(rows.nth(i).locator("td.mem .bar")).to_have_count(1)
            expect(rows.nth(i).locator("td.store .bar")).to_have_count(1)
            expect(rows.nth(i).locator("td.mem")).to_contain_text("GiB")
    finally:
        if context is not None:
            context.close()
        _ember(env, "stop")


def test_metrics_page_draws_charts_from_samples(page):
    from playwright.sync_api import expect

    page.click("#tabs a[data-page=metrics]")
    legend = page.locator(".chart-card", has_text="Finished and failed tasks").locator(".legend")
    expect(legend).to_contain_text("FINISHED")
    assert page.locator("canvas.chart").count() >= 6


def test_logs_page_lists_and_shows_the_job_driver_log(page, ui_cluster):
    from playwright.sync_api import expect

    page.click("#tabs a[data-page=logs]")
    name = f"job-driver-{ui_cluster['job_id']}.log"
    expect(page.locator(".count")).to_contain_text(" files")
    page.click(f"text={name}")
    expect(page.locator(".logbox h3")).to_have_text(name)
    expect(page.locator("pre.log")).to_contain_text("ui-job line 0")
