"""ember.train's TorchTrainer against torchrun on the same 2-worker gloo DDP script.

    uv run python benchmarks/train_vs_torchrun.py [--quick] [--repeats 2] [--out FILE]

The training code (an MLP on synthetic data, one thread per rank, DDP over gloo) is the
same text in both runs; each run is a fresh subprocess and is timed from its start to
its exit (interpreter start, torch imports and shutdown included), torchrun and ember
alternating. Rows:
  e2e_wall           end-to-end seconds of the whole training (median of --repeats);
                     ember/torchrun is the ratio (target <= 1.05)
  fit_to_first_step  seconds from TorchTrainer.fit() to the end of the first training
                     step on rank 0 (target < 2 s)
  checkpoint_overhead  mean step time (saving and reporting included) of a loop that
                     reports after every step with a checkpoint every 10th (the model's
                     and optimizer's state_dict, saved by rank 0), against the same loop
                     reporting metrics only (target < 5 %); and how long the report()
                     with a checkpoint blocks (the copy to local disk)
  recovery           seconds from rank 1's SIGKILL (mid-epoch, after 45 s of training) to
                     the first step of the restarted group, which resumes from the
                     latest checkpoint (< 5 s)
                     (cold: fresh workers; warm: FailureConfig(warm_standby=True))
  import             seconds a fresh ember worker takes to import torch and
                     ember.train.torch: fresh workers pay it at fit() and after a restart
Ray Train is compared where a RAY_PYTHON venv is given (not built here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from _runner import emit, result_of, run_scenario, runtime_env

COMMON = textwrap.dedent('''
    import json, os, sys, time
    T_START = time.time()
    import torch
    import torch.distributed as dist

    HIDDEN, BATCH, FEATURES = 512, 256, 64

    def build_model():
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Linear(FEATURES, HIDDEN), torch.nn.ReLU(),
            torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.ReLU(),
            torch.nn.Linear(HIDDEN, 1))

    def batches(rank, steps, start=0):
        g = torch.Generator().manual_seed(1000 * rank + start)
        for _ in range(start, steps):
            x = torch.randn(BATCH, FEATURES, generator=g)
            yield x, x[:, :8].sum(1, keepdim=True)

    def step(model, opt, x, y):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
''')

TORCHRUN_MAIN = textwrap.dedent('''
    def main():
        steps = int(sys.argv[1])
        torch.set_num_threads(1)
        dist.init_process_group("gloo")
        rank = dist.get_rank()
        model = torch.nn.parallel.DistributedDataParallel(build_model())
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        first, times = None, []
        for i, (x, y) in enumerate(batches(rank, steps)):
            t = time.perf_counter()
            loss = step(model, opt, x, y)
            times.append(time.perf_counter() - t)
            if first is None:
                first = time.time()
        if rank == 0:
            print("RESULT " + json.dumps({"loss": loss, "first_step_at": first,
                                          "step_s": statistics.mean(times[5:])}), flush=True)
        dist.destroy_process_group()

    import statistics
    main()
''')

EMBER_MAIN = textwrap.dedent('''
    import signal, statistics, tempfile
    import ember
    import ember.train as train
    from ember.train.torch import TorchTrainer, prepare_model

    def loop(config):
        ctx = train.get_context()
        rank = ctx.get_world_rank()
        model = prepare_model(build_model())
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        start = 0
        ck = train.get_checkpoint()
        if ck is not None:
            with ck.as_directory() as d:
                state = torch.load(os.path.join(d, "state.pt"))
            model.module.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            start = state["step"] + 1
        first, times, blocked = None, [], []
        mode, every = config["mode"], config["report_every"]
        end = config["steps"] if ctx.get_attempt() == 0 else min(config["steps"], start + 20)
        for i, (x, y) in enumerate(batches(rank, end, start), start):
            t = time.perf_counter()
            loss = step(model, opt, x, y)
            if first is None:
                first = time.time()
            if (mode.startswith("recover") and ctx.get_attempt() == 0 and rank == 1
                    and time.time() - first >= config["kill_after_s"]):
                with open(config["kill_file"], "w") as f:
                    f.write(repr(time.time()))
                os.kill(os.getpid(), signal.SIGKILL)
            last = i == end - 1
            if (i + 1) % every == 0 or last:
                metrics = {"loss": loss, "step": i, "first_step_at": first,
                           "attempt": ctx.get_attempt(),
                           "step_s": statistics.mean(times[5:]) if len(times) > 6 else None,
                           "report_ms": statistics.median(blocked) * 1e3 if blocked else None}
                if config["ckpt_every"] and ((i + 1) % config["ckpt_every"] == 0 or last):
                    with tempfile.TemporaryDirectory() as d:
                        if rank == 0:
                            torch.save({"model": model.module.state_dict(),
                                        "opt": opt.state_dict(), "step": i},
                                       os.path.join(d, "state.pt"))
                        r0 = time.perf_counter()
                        train.report(metrics, checkpoint=train.Checkpoint.from_directory(d)
                                     if rank == 0 else None)
                        blocked.append(time.perf_counter() - r0)
                else:
                    train.report(metrics)
            times.append(time.perf_counter() - t)

    def main():
        mode, steps = sys.argv[1], int(sys.argv[2])
        ember.init(num_cpus=2)
        if mode == "import":
            @ember.remote
            def import_time():
                t = time.perf_counter()
                import ember.train.torch  # noqa: F401
                return time.perf_counter() - t

            out = {"import_s": ember.get(import_time.remote())}
            ember.shutdown()
            print("RESULT " + json.dumps(out), flush=True)
            return
        config = {"mode": mode, "steps": steps, "report_every": 50, "ckpt_every": 0,
                  "kill_after_s": 45.0, "kill_file": os.path.join(tempfile.mkdtemp(), "k")}
        if mode in ("ckpt", "metrics"):
            config.update(report_every=1, ckpt_every=10 if mode == "ckpt" else 0)
        if mode.startswith("recover"):
            # Rank 1 dies after 45 s of training (time for standbys to warm up); the
            # restarted group trains 20 more steps.
            config.update(report_every=10, ckpt_every=10, steps=10**6)
        trainer = TorchTrainer(
            loop, train_loop_config=config,
            scaling_config=train.ScalingConfig(num_workers=2),
            run_config=train.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0,
                                       failure_config=train.FailureConfig(
                                           max_failures=1,
                                           warm_standby=mode == "recover_warm")))
        t_fit = time.time()
        result = trainer.fit()
        final = result.metrics  # "first_step_at" is the first step of the last attempt
        out = {"loss": final["loss"], "fit_to_first_step": final["first_step_at"] - t_fit,
               "step_s": final["step_s"], "report_ms": final["report_ms"]}
        if mode.startswith("recover"):
            with open(config["kill_file"]) as f:
                out["recovery_s"] = final["first_step_at"] - float(f.read())
            assert final["attempt"] == 1
        ember.shutdown()
        print("RESULT " + json.dumps(out), flush=True)

    main()
''')


def timed(cmd: list[str], timeout: float) -> tuple[float, dict]:
    """Wall seconds of a subprocess from start to exit, and its RESULT object."""
    env = runtime_env(OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    wall = time.perf_counter() - t0
    res = result_of(proc.stdout)
    if res is None:
        raise RuntimeError(f"{cmd[:4]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return wall, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about a fifth of the work")
    ap.add_argument("--steps", type=int, default=None, help="training steps per run")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None, help="also write the table to this file")
    args = ap.parse_args()
    steps = args.steps or (120 if args.quick else 600)
    work = tempfile.mkdtemp(prefix="train_bench_")
    torchrun_py = os.path.join(work, "ddp_torchrun.py")
    ember_py = os.path.join(work, "ddp_ember.py")
    with open(torchrun_py, "w") as f:
        f.write(COMMON + TORCHRUN_MAIN)
    with open(ember_py, "w") as f:
        f.write(COMMON + EMBER_MAIN)
    py = sys.executable
    torchrun = [py, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                torchrun_py, str(steps)]
    walls: dict[str, list[float]] = {"torchrun": [], "ember": []}
    first_steps, step_s = [], {"torchrun": [], "ember": []}
    for _ in range(args.repeats):
        w, r = timed(torchrun, 600)
        walls["torchrun"].append(w)
        step_s["torchrun"].append(r["step_s"])
        w, r = timed([py, ember_py, "e2e", str(steps)], 600)
        walls["ember"].append(w)
        step_s["ember"].append(r["step_s"])
        first_steps.append(r["fit_to_first_step"])
    ck_steps = max(60, steps // 4)
    ckpt = run_scenario(py, [ember_py, "ckpt", str(ck_steps)], "ember", 600,
                        env=runtime_env(OMP_NUM_THREADS="1"))
    plain = run_scenario(py, [ember_py, "metrics", str(ck_steps)], "ember", 600,
                         env=runtime_env(OMP_NUM_THREADS="1"))
    rec = run_scenario(py, [ember_py, "recover", str(max(60, steps // 4))], "ember", 600,
                       env=runtime_env(OMP_NUM_THREADS="1"))
    warm = run_scenario(py, [ember_py, "recover_warm", str(max(60, steps // 4))], "ember",
                        600, env=runtime_env(OMP_NUM_THREADS="1"))
    imp = run_scenario(py, [ember_py, "import", "0"], "ember", 600,
                       env=runtime_env(OMP_NUM_THREADS="1"))
    med = {k: statistics.median(v) for k, v in walls.items()}
    rows = [
        "| row | unit | torchrun | ember | ember/torchrun | target |",
        "|---|---|---|---|---|---|",
        f"| e2e_wall ({steps} steps, median of {args.repeats}) | s | {med['torchrun']:.2f} | "
        f"{med['ember']:.2f} | {med['ember'] / med['torchrun']:.3f}x | <= 1.05x |",
        f"| mean step time | ms | {1e3 * statistics.median(step_s['torchrun']):.1f} | "
        f"{1e3 * statistics.median(step_s['ember']):.1f} | "
        f"{statistics.median(step_s['ember']) / statistics.median(step_s['torchrun']):.3f}x | |",
        f"| fit_to_first_step | s | | {statistics.median(first_steps):.2f} | | < 2 s |",
        f"| checkpoint_overhead (a report every step, a checkpoint every 10th) | % | | "
        f"{100 * (ckpt['step_s'] / plain['step_s'] - 1):+.1f} | | < 5 % |",
        f"| time report(checkpoint=...) blocks the loop (median) | ms | | "
        f"{ckpt['report_ms']:.1f} | | |",
        f"| recovery (SIGKILL to the restarted group's first step) | s | | "
        f"{rec['recovery_s']:.2f} | | < 5 s |",
        f"| recovery with FailureConfig(warm_standby=True) | s | | "
        f"{warm['recovery_s']:.2f} | | < 5 s |",
        f"| importing torch (+ DDP, data loaders) in one fresh worker | s | | "
        f"{imp['import_s']:.2f} | | |",
    ]
    emit("\n".join(rows) + f"\n\nraw walls: {walls}; step s: ckpt {ckpt['step_s']:.4f}, "
         f"metrics-only {plain['step_s']:.4f}", args.out)


if __name__ == "__main__":
    main()
