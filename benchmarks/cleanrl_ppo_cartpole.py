"""A CleanRL-style single-file PPO for CartPole-v1 (plain torch + gymnasium), the lean
baseline of benchmarks/rllib_vs_peers.py.

    uv run python benchmarks/cleanrl_ppo_cartpole.py --seed 0 --target 475

Same hyperparameters as the ember-rllib row: 8 envs x 32 steps per update, 20 full-batch
epochs, gamma 0.98, GAE lambda 0.8, lr 1e-3 annealed linearly to 1e-4 over 150k steps, clip
0.2, value coefficient 0.5, gradient norm 0.5, two 64-unit tanh layers for the policy and the
value function (orthogonal init). Stops when the mean return of the last 100 episodes
reaches --target and prints `RESULT {"steps", "wall_s", "reached", "return"}`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn


def layer(i: int, o: int, gain: float = 2 ** 0.5) -> nn.Linear:
    lin = nn.Linear(i, o)
    nn.init.orthogonal_(lin.weight, gain)
    nn.init.zeros_(lin.bias)
    return lin


class Agent(nn.Module):
    def __init__(self, n_obs: int, n_act: int) -> None:
        super().__init__()
        self.critic = nn.Sequential(layer(n_obs, 64), nn.Tanh(), layer(64, 64), nn.Tanh(),
                                    layer(64, 1, 1.0))
        self.actor = nn.Sequential(layer(n_obs, 64), nn.Tanh(), layer(64, 64), nn.Tanh(),
                                   layer(64, n_act, 0.01))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)

    def act(self, x: torch.Tensor, action: torch.Tensor | None = None):
        dist = torch.distributions.Categorical(logits=self.actor(x))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.value(x)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", type=float, default=475.0)
    p.add_argument("--max-steps", type=int, default=500_000)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    n_envs, n_steps, epochs, gamma, lam = 8, 32, 20, 0.98, 0.8
    t0 = time.perf_counter()
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(n_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    agent = Agent(4, 2)
    opt = torch.optim.Adam(agent.parameters(), lr=1e-3, eps=1e-8)
    obs_buf = torch.zeros((n_steps, n_envs, 4))
    act_buf = torch.zeros((n_steps, n_envs), dtype=torch.long)
    logp_buf = torch.zeros((n_steps, n_envs))
    rew_buf = torch.zeros((n_steps, n_envs))
    done_buf = torch.zeros((n_steps, n_envs))
    term_buf = torch.zeros((n_steps, n_envs))
    next_val_buf = torch.zeros((n_steps, n_envs))
    obs, _ = envs.reset(seed=a.seed)
    obs = torch.as_tensor(obs, dtype=torch.float32)
    ep_ret, returns = np.zeros(n_envs), deque(maxlen=100)
    steps, mean = 0, 0.0
    while steps < a.max_steps:
        frac = min(1.0, steps / 150_000)
        opt.param_groups[0]["lr"] = 1e-3 + frac * (1e-4 - 1e-3)
        finals = []
        for t in range(n_steps):
            with torch.no_grad():
                action, logp, _, _ = agent.act(obs)
            nobs, r, term, trunc, info = envs.step(action.numpy())
            obs_buf[t], act_buf[t], logp_buf[t] = obs, action, logp
            rew_buf[t] = torch.as_tensor(r)
            done = term | trunc
            done_buf[t], term_buf[t] = torch.as_tensor(done), torch.as_tensor(term)
            real_next = nobs.copy()
            ep_ret += r
            for i in np.flatnonzero(done):
                real_next[i] = info["final_obs"][i]
                returns.append(ep_ret[i])
                ep_ret[i] = 0
            finals.append(real_next)
            obs = torch.as_tensor(nobs, dtype=torch.float32)
        steps += n_steps * n_envs
        with torch.no_grad():
            next_val_buf = agent.value(torch.as_tensor(np.stack(finals), dtype=torch.float32))
            values = agent.value(obs_buf)
            adv = torch.zeros_like(rew_buf)
            last = torch.zeros(n_envs)
            for t in reversed(range(n_steps)):
                cont = 1.0 - done_buf[t] if t < n_steps - 1 else torch.zeros(n_envs)
                delta = rew_buf[t] + gamma * next_val_buf[t] * (1 - term_buf[t]) - values[t]
                last = delta + gamma * lam * cont * last
                adv[t] = last
            targets = adv + values
        b_obs, b_act = obs_buf.reshape(-1, 4), act_buf.reshape(-1)
        b_logp, b_adv, b_tgt = logp_buf.reshape(-1), adv.reshape(-1), targets.reshape(-1)
        b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
        for _ in range(epochs):
            _, logp, ent, v = agent.act(b_obs, b_act)
            ratio = (logp - b_logp).exp()
            pg = -torch.min(b_adv * ratio, b_adv * ratio.clamp(0.8, 1.2)).mean()
            loss = pg + 0.5 * (v - b_tgt).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
            opt.step()
        mean = float(np.mean(returns)) if returns else 0.0
        if mean >= a.target:
            break
    print("RESULT " + json.dumps({"steps": steps, "wall_s": time.perf_counter() - t0,
                                  "reached": mean >= a.target, "return": mean}), flush=True)


if __name__ == "__main__":
    main()
