"""Time and env steps to solve a task: ember-rllib vs a CleanRL-style single file,
Stable-Baselines3 and RLlib, with the same hyperparameters on each.

    uv run python benchmarks/rllib_vs_peers.py [--seeds 5] [--algos ppo,dqn,sac]
    SB3_PYTHON=/path/sb3-venv/bin/python RAY_PYTHON=/path/ray-venv/bin/python \\
        uv run python benchmarks/rllib_vs_peers.py

Rows: PPO CartPole-v1 to a mean return of 475 (last 100 episodes), DQN CartPole-v1 to 475,
SAC Pendulum-v1 to -200 (last 10 episodes). Each (library, seed) runs in a fresh process;
wall time counts from building the algorithm (env creation included, imports excluded)
to the iteration that reaches the target. The table reports medians over seeds, and
ember-rllib's build_algo() time (first build in the process, then a second one).
Stable-Baselines3 and RLlib run only when their side-venv python is given (never project
dependencies).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap

from _runner import emit, run_scenario, runtime_env

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"ppo": 475.0, "dqn": 475.0, "sac": -200.0}
MAX_STEPS = {"ppo": 300_000, "dqn": 150_000, "sac": 30_000}

EMBER = textwrap.dedent('''
    import json, sys, time
    algo_name, seed, target, max_steps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    import torch
    torch.set_num_threads(1)
    from ember.rllib.algorithms.dqn import DQNConfig
    from ember.rllib.algorithms.ppo import PPOConfig
    from ember.rllib.algorithms.sac import SACConfig
    from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig as M
    if algo_name == "ppo":
        config = (PPOConfig().environment("CartPole-v1").env_runners(num_envs_per_env_runner=8)
                  .training(lr=[[0, 1e-3], [150_000, 1e-4]], train_batch_size_per_learner=256,
                            minibatch_size=256, num_epochs=20, gamma=0.98, lambda_=0.8,
                            clip_param=0.2, vf_loss_coeff=0.5, use_kl_loss=False, grad_clip=0.5)
                  .rl_module(model_config=M(fcnet_hiddens=[64, 64])))
    elif algo_name == "dqn":
        config = (DQNConfig().environment("CartPole-v1")
                  .env_runners(num_envs_per_env_runner=8, rollout_fragment_length=8)
                  .training(lr=1e-3, train_batch_size_per_learner=64, training_intensity=8,
                            target_network_update_freq=500, n_step=3, double_q=True,
                            dueling=True, epsilon=[[0, 1.0], [10_000, 0.02]], grad_clip=10,
                            num_steps_sampled_before_learning_starts=1000,
                            replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                                  "capacity": 50_000, "alpha": 0.6, "beta": 0.4})
                  .reporting(min_sample_timesteps_per_iteration=1000)
                  .rl_module(model_config=M(fcnet_hiddens=[64, 64])))
    else:
        config = (SACConfig().environment("Pendulum-v1")
                  .env_runners(num_envs_per_env_runner=4, rollout_fragment_length=1)
                  .training(actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3,
                            train_batch_size_per_learner=128, training_intensity=128,
                            num_steps_sampled_before_learning_starts=1000,
                            replay_buffer_config={"type": "EpisodeReplayBuffer", "capacity": 100_000})
                  .reporting(min_sample_timesteps_per_iteration=500,
                             metrics_num_episodes_for_smoothing=10)
                  .rl_module(model_config=M(fcnet_hiddens=[64, 64], fcnet_activation="relu")))
    config.debugging(seed=seed)
    t0 = time.perf_counter()
    algo = config.build_algo()
    build_s = time.perf_counter() - t0
    ret, steps = float("-inf"), 0
    while steps < max_steps:
        r = algo.train()
        steps, ret = r["num_env_steps_sampled_lifetime"], r["env_runners"]["episode_return_mean"]
        if ret >= target:
            break
    wall = time.perf_counter() - t0
    algo.stop()
    t1 = time.perf_counter()
    config.build_algo().stop()
    print("RESULT " + json.dumps({"steps": steps, "wall_s": wall, "reached": ret >= target,
                                  "return": ret, "build_s": build_s,
                                  "build_again_s": time.perf_counter() - t1}), flush=True)
''')

SB3 = textwrap.dedent('''
    import json, sys, time
    from collections import deque
    algo_name, seed, target, max_steps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    import numpy as np, torch
    torch.set_num_threads(1)
    from stable_baselines3 import DQN, PPO, SAC
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    window = 10 if algo_name == "sac" else 100

    class Stop(BaseCallback):
        def _on_step(self):
            buf = list(self.model.ep_info_buffer)[-window:]
            self.mean = float(np.mean([e["r"] for e in buf])) if buf else float("-inf")
            return self.mean < target

    t0 = time.perf_counter()
    net = dict(net_arch=[64, 64])
    if algo_name == "ppo":
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
        lr = lambda p: max(1e-4, 1e-3 - (1 - p) * max_steps / 150_000 * 9e-4)
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98,
                    gae_lambda=0.8, learning_rate=lr, clip_range=0.2, ent_coef=0.0,
                    vf_coef=0.5, max_grad_norm=0.5, policy_kwargs=net, seed=seed, device="cpu")
    elif algo_name == "dqn":
        env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
        model = DQN("MlpPolicy", env, learning_rate=1e-3, buffer_size=50_000,
                    learning_starts=1000, batch_size=64, gamma=0.99, train_freq=8,
                    gradient_steps=8, target_update_interval=500,
                    exploration_fraction=10_000 / max_steps, exploration_final_eps=0.02,
                    max_grad_norm=10, policy_kwargs=net, seed=seed, device="cpu")
    else:
        env = make_vec_env("Pendulum-v1", n_envs=4, seed=seed)
        model = SAC("MlpPolicy", env, learning_rate=1e-3, buffer_size=100_000,
                    learning_starts=1000, batch_size=128, train_freq=1, gradient_steps=4,
                    policy_kwargs=net, seed=seed, device="cpu")
    cb = Stop()
    model.learn(total_timesteps=max_steps, callback=cb)
    wall = time.perf_counter() - t0
    print("RESULT " + json.dumps({"steps": model.num_timesteps, "wall_s": wall,
                                  "reached": cb.mean >= target, "return": cb.mean}), flush=True)
''')

RAY = textwrap.dedent('''
    import json, sys, time
    algo_name, seed, target, max_steps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    max_wall = float(sys.argv[5])
    import ray
    ray.init(num_cpus=2, include_dashboard=False)
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig as M
    if algo_name == "ppo":
        config = (PPOConfig().environment("CartPole-v1")
                  .env_runners(num_env_runners=0, num_envs_per_env_runner=8)
                  .training(lr=[[0, 1e-3], [150_000, 1e-4]], train_batch_size_per_learner=256,
                            minibatch_size=256, num_epochs=20, gamma=0.98, lambda_=0.8,
                            clip_param=0.2, vf_loss_coeff=0.5, use_kl_loss=False, grad_clip=0.5)
                  .rl_module(model_config=M(fcnet_hiddens=[64, 64])))
    elif algo_name == "dqn":
        config = (DQNConfig().environment("CartPole-v1")
                  .env_runners(num_env_runners=0, num_envs_per_env_runner=8,
                               rollout_fragment_length=8)
                  .training(lr=1e-3, train_batch_size_per_learner=64, training_intensity=8,
                            target_network_update_freq=500, n_step=3, double_q=True,
                            dueling=True, epsilon=[[0, 1.0], [10_000, 0.02]], grad_clip=10,
                            num_steps_sampled_before_learning_starts=1000,
                            replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                                  "capacity": 50_000, "alpha": 0.6, "beta": 0.4})
                  .reporting(min_sample_timesteps_per_iteration=1000)
                  .rl_module(model_config=M(fcnet_hiddens=[64, 64])))
    else:
        config = (SACConfig().environment("Pendulum-v1")
                  .env_runners(num_env_runners=0, num_envs_per_env_runner=4,
                               rollout_fragment_length=1)
                  .training(actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3,
                            train_batch_size_per_learner=128,
                            num_steps_sampled_before_learning_starts=1000)
                  .reporting(min_sample_timesteps_per_iteration=500,
                             metrics_num_episodes_for_smoothing=10)
                  .rl_module(model_config=M(fcnet_hiddens=[64, 64], fcnet_activation="relu")))
    config.debugging(seed=seed)
    t0 = time.perf_counter()
    algo = config.build_algo()
    build_s = time.perf_counter() - t0
    ret, steps = float("-inf"), 0
    while steps < max_steps:
        r = algo.train()
        steps = int(r["num_env_steps_sampled_lifetime"])
        ret = float(r["env_runners"].get("episode_return_mean", float("-inf")))
        if ret >= target or time.perf_counter() - t0 > max_wall:
            break
    wall = time.perf_counter() - t0
    print("RESULT " + json.dumps({"steps": steps, "wall_s": wall, "reached": ret >= target,
                                  "return": ret, "build_s": build_s}), flush=True)
    algo.stop()
    ray.shutdown()
''')


def runs(python: str, code: str | None, script: str | None, name: str, algo: str,
         seeds: int, timeout: float, extra: tuple[str, ...] = ()) -> list[dict]:
    out = []
    for seed in range(seeds):
        args = ["-c", code] if code else [script]
        args += [algo, str(seed), str(TARGETS[algo]), str(MAX_STEPS[algo]), *extra] if code \
            else ["--seed", str(seed), "--target", str(TARGETS[algo])]
        try:
            res = run_scenario(python, args, name, timeout=timeout,
                               env=runtime_env(PYTHONDONTWRITEBYTECODE=""),
                               cwd=tempfile.gettempdir())
        except Exception as e:  # noqa: BLE001 - a failed run is a row, not a crash
            res = {"error": str(e)[-300:]}
        print(f"  {name} {algo} seed {seed}: {res}", file=sys.stderr, flush=True)
        out.append(res)
    return out


def summary(results: list[dict]) -> tuple[str, str, str, float | None]:
    ok = [r for r in results if r.get("reached")]
    if not ok:
        ran = [r for r in results if "wall_s" in r]
        if not ran:
            return "failed", "-", f"0/{len(results)}", None
        r = max(ran, key=lambda r: r["wall_s"])
        return (f"not reached in {r['wall_s']:.0f} s (return {r['return']:.0f})",
                f"{r['steps'] / 1000:.0f}k", f"0/{len(results)}", None)
    wall = statistics.median(r["wall_s"] for r in ok)
    steps = statistics.median(r["steps"] for r in ok)
    return f"{wall:.1f}", f"{steps / 1000:.0f}k", f"{len(ok)}/{len(results)}", wall


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--algos", default="ppo,dqn,sac")
    p.add_argument("--sb3-python", default=os.environ.get("SB3_PYTHON"))
    p.add_argument("--ray-python", default=os.environ.get("RAY_PYTHON"))
    p.add_argument("--ray-seeds", type=int, default=1,
                   help="seeds for RLlib (Ray), which is much slower")
    p.add_argument("--ray-max-wall", type=float, default=300.0,
                   help="seconds after which an RLlib (Ray) run stops unsolved")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    rows = ["| task | library | median wall s | median env steps | seeds reached | "
            "vs fastest peer |", "|---|---|---|---|---|---|"]
    builds: list[str] = []
    for algo in a.algos.split(","):
        task = {"ppo": "PPO CartPole-v1 → 475", "dqn": "DQN CartPole-v1 → 475",
                "sac": "SAC Pendulum-v1 → -200"}[algo]
        libs: list[tuple[str, list[dict]]] = []
        ember = runs(sys.executable, EMBER, None, "ember-rllib", algo, a.seeds, 900)
        libs.append(("ember-rllib", ember))
        good = [r for r in ember if "build_s" in r]
        if good:
            builds.append(f"{algo}: first build_algo() {statistics.median(r['build_s'] for r in good):.2f} s, "
                          f"second {statistics.median(r['build_again_s'] for r in good):.2f} s")
        if algo == "ppo":
            libs.append(("CleanRL-style file", runs(sys.executable, None,
                                                    os.path.join(HERE, "cleanrl_ppo_cartpole.py"),
                                                    "cleanrl", algo, a.seeds, 900)))
        if a.sb3_python:
            libs.append(("Stable-Baselines3", runs(a.sb3_python, SB3, None, "sb3", algo,
                                                   a.seeds, 900)))
        if a.ray_python:
            libs.append(("RLlib 2.60 (Ray)", runs(a.ray_python, RAY, None, "ray", algo,
                                                  a.ray_seeds, a.ray_max_wall + 600,
                                                  (str(a.ray_max_wall),))))
        summaries = [(name, summary(res)) for name, res in libs]
        peers = [s[3] for name, s in summaries if name != "ember-rllib" and s[3] is not None]
        fastest = min(peers) if peers else None
        for name, (wall, steps, reached, w) in summaries:
            ratio = f"{w / fastest:.2f}×" if w is not None and fastest else "-"
            rows.append(f"| {task} | {name} | {wall} | {steps} | {reached} | {ratio} |")
    emit("\n".join(rows) + "\n\n" + "\n".join(builds), a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
