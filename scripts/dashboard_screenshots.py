"""Screenshots of every page of the dashboard UI, for docs/images/dashboard-*.png.

Starts an embedded cluster, gives it some work (actors, tasks, a failing task, objects,
a placement group, jobs), opens the UI in headless Chromium (Debian's `chromium`,
driven by Playwright) and saves one PNG per page.

    uv run python scripts/dashboard_screenshots.py [--out docs/images] [--seconds 24]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np

import ember
from ember import serve
from ember.job_submission import JobSubmissionClient
from ember.util.placement_group import placement_group
from ember.util.state import get_log, list_logs

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
PAGES = ["overview", "jobs", "actors", "tasks", "objects", "placement-groups", "serve",
         "workers", "logs", "metrics"]


@ember.remote
class Counter:
    def __init__(self) -> None:
        self.n = 0

    def add(self, k: int) -> int:
        self.n += k
        return self.n


@ember.remote
class ParameterServer:
    def get(self) -> int:
        return 0


@serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0},
                  user_config={"greeting": "hello"}, max_ongoing_requests=8)
class Greeter:
    def reconfigure(self, config: dict) -> None:
        self.greeting = config["greeting"]

    def __call__(self, request: object) -> str:
        return self.greeting


@ember.remote
def square(x: int) -> int:
    time.sleep(0.002)
    if x % 100 == 0:
        print(f"square({x}) on its way", flush=True)
    return x * x


@ember.remote
def parse_record(line: str) -> dict:
    key, value = line.split("=")
    return {key: int(value)}


def load(stop: threading.Event) -> None:
    """Steady work while the page samples /metrics, so the charts have a shape."""
    counter = Counter.remote()
    i = 0
    while not stop.is_set():
        ember.get([square.remote(j) for j in range(40 + 30 * (i % 4))])
        ember.get(counter.add.remote(1))
        i += 1
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--seconds", type=float, default=24.0,
                        help="how long the metrics page samples before its screenshot")
    args = parser.parse_args()

    info = ember.init(num_cpus=4, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read().strip()
    actors = [Counter.remote() for _ in range(3)] + [ParameterServer.options(name="ps").remote()]
    ember.get([a.add.remote(1) for a in actors[:3]])
    ember.kill(actors[0])
    ember.get([square.remote(i) for i in range(300)])
    try:
        ember.get(parse_record.remote("broken line"))
    except Exception:
        pass
    objects = [ember.put(np.zeros(n, dtype=np.uint8)) for n in (1 << 20, 4 << 20, 16 << 20)]
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="SPREAD", name="trainers")
    ember.get(pg.ready())
    serve.start(http_options={"host": "127.0.0.1", "port": 0})
    serve.run(Greeter.bind(), name="greeter", route_prefix="/hello")
    client = JobSubmissionClient(info["dashboard_url"])
    script = "import time\nfor i in range(5):\n    print(f'epoch {i}: loss={1/(i+1):.3f}', flush=True)\n"
    # `python` as the shell finds it (run under `uv run`, the project's).
    done = client.submit_job(entrypoint=f"python -c \"{script}\"")
    running = client.submit_job(
        entrypoint="python -c \"import time; print('serving', flush=True); time.sleep(120)\"")
    while client.get_job_status(done).value not in ("SUCCEEDED", "FAILED"):
        time.sleep(0.1)
    stop = threading.Event()
    worker = threading.Thread(target=load, args=(stop,), daemon=True)
    os.makedirs(args.out, exist_ok=True)
    try:
        shoot(info["dashboard_url"], token, args, worker, done)
    finally:
        stop.set()
        if worker.is_alive():
            worker.join()
        client.stop_job(running)
        serve.shutdown()
        del objects
        ember.shutdown()
    for name in sorted(os.listdir(args.out)):
        if name.startswith("dashboard-"):
            print(name, os.path.getsize(os.path.join(args.out, name)), "bytes")


def shoot(url: str, token: str, args: argparse.Namespace, worker: threading.Thread,
          job: str) -> None:
    """Signs in, lets the metrics sample, and saves one PNG per page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1360, "height": 860})
        tab.goto(url + "/")
        tab.screenshot(path=os.path.join(args.out, "dashboard-token.png"))
        tab.fill("#token", token)
        tab.click("#login-form button")
        tab.wait_for_selector("#nodes tbody tr")
        worker.start()
        tab.wait_for_timeout(args.seconds * 1000)  # metrics samples accumulate meanwhile
        for name in PAGES:
            tab.goto(f"{url}/#/{name}")
            tab.wait_for_timeout(1500)
            if name == "serve":  # one deployment's config opened
                tab.click(".serve-app details.config summary")
            tab.screenshot(path=os.path.join(args.out, f"dashboard-{name}.png"))
        tab.goto(f"{url}/#/jobs/{job}")
        tab.wait_for_selector("text=epoch 4")
        tab.screenshot(path=os.path.join(args.out, "dashboard-job-logs.png"))
        name = next(n for files in list_logs(glob_filter="worker-*.out").values()
                    for n in files if "on its way" in "".join(get_log(filename=n, tail=50)))
        tab.goto(f"{url}/#/logs/{name}")
        tab.wait_for_selector("text=on its way")
        tab.screenshot(path=os.path.join(args.out, "dashboard-log-file.png"))
        browser.close()


if __name__ == "__main__":
    main()
