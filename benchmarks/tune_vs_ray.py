"""Tune bookkeeping overhead: ember.tune vs Ray Tune 2.60 with identical code.

    RAY_PYTHON=/path/to/ray-venv/bin/python uv run python benchmarks/tune_vs_ray.py

Rows (each runtime in a fresh subprocess, 2 CPUs):
  trivial_trials   200 trials of a trainable that reports once (trials/s; --ray-trials
                   runs fewer for Ray, which starts a process per trial)
  asha_20x100      20 trials x 100 reported iterations under ASHA (wall seconds)
  overhead_1s      8 trials that each sleep 1 s (one report), 2 at a time: wall time over
                   the ideal 4 s (the aim is under 5 % overhead)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap

from _runner import emit, run_scenario, runtime_env

SCENARIO = textwrap.dedent('''
    import json, os, sys, tempfile, time
    name = sys.argv[1]
    rt = __import__(name)
    tune = __import__(name + ".tune", fromlist=["tune"])
    rt.init(num_cpus=2)
    storage = tempfile.mkdtemp()
    out = {}

    def trivial(config):
        tune.report({"score": config["x"]})

    def iterative(config):
        for i in range(100):
            tune.report({"score": config["x"] * (i + 1)})

    def one_second(config):
        time.sleep(1.0)
        tune.report({"score": 1})

    def run(trainable, space, n, scheduler=None, conc=None, name="exp"):
        cfg = tune.TuneConfig(num_samples=n, metric="score", mode="max", scheduler=scheduler,
                              max_concurrent_trials=conc)
        rc = tune.RunConfig(name=name, storage_path=storage, verbose=0)
        t0 = time.perf_counter()
        grid = tune.Tuner(trainable, param_space=space, tune_config=cfg, run_config=rc).fit()
        dt = time.perf_counter() - t0
        assert len(grid) == n, len(grid)
        return dt

    run(trivial, {"x": tune.uniform(0, 1)}, 10, name="warm")
    n = int(sys.argv[2])
    dt = run(trivial, {"x": tune.uniform(0, 1)}, n, name="trivial")
    out["trivial_trials"] = n / dt
    asha = tune.schedulers.ASHAScheduler(max_t=100, grace_period=5, reduction_factor=3)
    out["asha_20x100"] = run(iterative, {"x": tune.uniform(0, 1)}, 20, scheduler=asha,
                             name="asha")
    dt = run(one_second, {"x": tune.uniform(0, 1)}, 8, conc=2, name="onesec")
    out["overhead_1s"] = (dt - 4.0) / 4.0
    print("RESULT " + json.dumps(out), flush=True)
    rt.shutdown()
''')


def run(python: str, runtime: str, trials: int) -> dict:
    env = runtime_env(TUNE_DISABLE_AUTO_CALLBACK_LOGGERS="1")
    return run_scenario(python, ["-c", SCENARIO, runtime, str(trials)], runtime,
                        timeout=3600, env=env, cwd=tempfile.gettempdir())


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--out", default=None)
    p.add_argument("--trials", type=int, default=200, help="trials in the trivial row")
    p.add_argument("--ray-trials", type=int, default=None,
                   help="trials for Ray's trivial row (default: --trials); Ray starts a "
                        "process per trial, which takes minutes on a small machine")
    args = p.parse_args()
    res = {"ember": run(sys.executable, "ember", args.trials)}
    if args.ray_python:
        res["ray"] = run(args.ray_python, "ray", args.ray_trials or args.trials)
    rows = [("trivial_trials", "trials/s", True), ("asha_20x100", "s (wall)", False),
            ("overhead_1s", "overhead vs ideal", False)]
    lines = ["| row | unit | ember | Ray Tune 2.60 | ember vs Ray |", "|---|---|---|---|---|"]
    for name, unit, higher in rows:
        e = res["ember"][name]
        r = res.get("ray", {}).get(name)
        if name == "overhead_1s":
            fe, fr = f"{e:.1%}", (f"{r:.1%}" if r is not None else "n/a")
            ratio = "lower is better"
        else:
            fe, fr = f"{e:,.2f}", (f"{r:,.2f}" if r is not None else "n/a")
            ratio = (f"{e / r:.2f}x faster" if higher else f"{r / e:.2f}x faster") if r else "n/a"
        lines.append(f"| {name} | {unit} | {fe} | {fr} | {ratio} |")
    emit("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
