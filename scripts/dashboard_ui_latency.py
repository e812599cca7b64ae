"""How fast the dashboard UI's pages render in headless Chromium with many finished tasks.

    uv run python scripts/dashboard_ui_latency.py [--tasks 100000] [--repeats 10]

Starts an embedded cluster (2 CPUs, dashboard on), runs `--tasks` tiny tasks, signs in to
the UI in Debian's chromium (driven by Playwright) and times, `--repeats` times each, from
the click to the rendered count line ("showing 1–50 of N"):
- opening the Tasks page;
- its last page;
- a server-side filter on the task name;
- opening the Overview (nodes, summaries, job count).
Prints the median and the slowest of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import ember

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


@ember.remote
def tiny(i: int) -> int:
    return i


@ember.remote
def other(i: int) -> int:
    return i


def timed(tab, action, done: str) -> float:
    """Milliseconds from `action()` to `done` (a JS condition) holding in the page."""
    t0 = time.perf_counter()
    action()
    tab.wait_for_function(done, polling="raf")
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    info = ember.init(num_cpus=2, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read().strip()
    t0 = time.perf_counter()
    for start in range(0, args.tasks, 10_000):
        ember.get([tiny.remote(i) for i in range(start, min(args.tasks, start + 10_000))])
    ember.get([other.remote(i) for i in range(100)])
    print(f"{args.tasks + 100:,} tasks run in {time.perf_counter() - t0:.1f} s")
    total = f"{args.tasks + 100:,}"
    count = "document.querySelector('.pager .count')?.textContent"
    results: dict[str, list[float]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            tab = browser.new_page(viewport={"width": 1360, "height": 860})
            tab.goto(info["dashboard_url"] + "/")
            tab.fill("#token", token)
            tab.click("#login-form button")
            tab.wait_for_selector("#nodes tbody tr")
            for _ in range(args.repeats):
                tab.click("#tabs a[data-page=overview]")
                tab.wait_for_selector("#nodes tbody tr")
                results.setdefault("tasks page", []).append(timed(
                    tab, lambda: tab.click("#tabs a[data-page=tasks]"),
                    f"{count} === 'showing 1–50 of {total}'"))
                last = f"showing {args.tasks + 100 - 49:,}–{total} of {total}"
                results.setdefault("last page", []).append(timed(
                    tab, lambda: tab.click("text=Last »"), f"{count} === '{last}'"))
                tab.select_option("select[name=key]", "name")
                tab.fill("input[name=value]", "other")
                results.setdefault("filter name=other", []).append(timed(
                    tab, lambda: tab.click(".filters button[type=submit]"),
                    f"{count} === 'showing 1–50 of 100'"))
                results.setdefault("overview", []).append(timed(
                    tab, lambda: tab.click("#tabs a[data-page=overview]"),
                    "document.querySelectorAll('.card .big').length >= 3"))
            browser.close()
    finally:
        ember.shutdown()
    for name, ms in results.items():
        print(f"{name:>20}: median {statistics.median(ms):7.1f} ms, max {max(ms):7.1f} ms"
              f" ({len(ms)} runs)")


if __name__ == "__main__":
    main()
