"""SingleAgentEnvRunner: steps a gymnasium vector env with one RLModule.

The hot loop is one batched forward pass per vector step: observations of all envs go
through the env-to-module pipeline and the module together, actions come back as one numpy
array. Episodes continue across sample() calls; rows are stored env-major, so each env's
piece of trajectory is contiguous (see SampleResult).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from ember.rllib.connectors.common import GetActions, ObsToTensor, unsquash_actions
from ember.rllib.connectors.connector_v2 import make_pipeline
from ember.rllib.core import DEFAULT_MODULE_ID
from ember.rllib.core.columns import Columns
from ember.rllib.core.rl_module.rl_module import RLModule
from ember.rllib.env.env_context import EnvContext
from ember.rllib.env.env_runner import EnvRunner, EpisodeStats, SampleResult
from ember.rllib.offline.offline_writer import OfflineWriter

__all__ = ["SingleAgentEnvRunner"]

_EPS_STRIDE = 1_000_000_000


class SingleAgentEnvRunner(EnvRunner):
    """Samples from `num_envs_per_env_runner` copies of the env (SyncVectorEnv)."""

    def __init__(self, config: Any, worker_index: int = 0, num_workers: int = 0,
                 env_creator: Any = None, module: RLModule | None = None,
                 is_eval: bool = False) -> None:
        self.config = config
        self.worker_index = worker_index
        torch.set_num_threads(max(1, int(config.torch_num_threads)))
        creator = env_creator or config.env_creator()
        n = max(1, int(config.num_envs_per_env_runner))

        def thunk(i: int) -> Any:
            return lambda: creator(EnvContext(config.env_config, worker_index, i, num_workers))

        self.env = gym.vector.SyncVectorEnv(
            [thunk(i) for i in range(n)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
        self.num_envs = n
        self.obs_space = self.env.single_observation_space
        self.act_space = self.env.single_action_space
        if module is None:
            spec = config.get_rl_module_spec(self.obs_space, self.act_space)
            spec.inference_only = True
            module = spec.build()
        self.module = module
        self._env_to_module = make_pipeline(config.env_to_module_connector, self.env,
                                            builtin=[ObsToTensor()])
        self._module_to_env = make_pipeline(config.module_to_env_connector, self.env,
                                            builtin=[GetActions()])
        seed = config.seed
        base = None if seed is None else int(seed) + 1000 * worker_index + (
            500 if is_eval else 0)
        self.env.action_space.seed(base)
        self._obs, _ = self.env.reset(seed=base)
        self._ret = np.zeros(n)
        self._len = np.zeros(n, dtype=np.int64)
        self._t = np.zeros(n, dtype=np.int64)
        self._eps_counter = worker_index * _EPS_STRIDE + (_EPS_STRIDE // 2 if is_eval else 0)
        self._eps = np.arange(n, dtype=np.int64) + self._eps_counter
        self._eps_counter += n
        self.lifetime_steps = 0
        self._writer = OfflineWriter(config, worker_index) if config.output and \
            not is_eval else None

    # ----- state -----------------------------------------------------------------------
    def get_spaces(self) -> dict[str, tuple[Any, Any]]:
        return {DEFAULT_MODULE_ID: (self.obs_space, self.act_space)}

    def get_module(self, module_id: str = DEFAULT_MODULE_ID) -> RLModule:
        return self.module

    def set_module(self, multi_module: Any) -> None:
        """Act with the module of DEFAULT_MODULE_ID in `multi_module` (shared, not copied)."""
        self.module = multi_module[DEFAULT_MODULE_ID]

    def set_weights(self, weights: dict[str, Any]) -> None:
        """Load {module_id: state} (the learner's weights) into the module."""
        state = weights.get(DEFAULT_MODULE_ID)
        if state is not None:
            self.module.set_state(state)

    def _reset_all(self) -> None:
        self._obs, _ = self.env.reset()
        self._ret[:] = 0
        self._len[:] = 0
        self._t[:] = 0
        self._eps = np.arange(self.num_envs, dtype=np.int64) + self._eps_counter
        self._eps_counter += self.num_envs

    # ----- sampling --------------------------------------------------------------------
    def sample(self, num_timesteps: int | None = None, num_episodes: int | None = None,
               explore: bool = True, random_actions: bool = False,
               weights: dict[str, Any] | None = None, global_step: int | None = None,
               ) -> SampleResult:
        """Step the envs for `num_timesteps` (split over the envs) or `num_episodes`."""
        if weights is not None:
            self.set_weights(weights)
        stats = EpisodeStats()
        if num_episodes is not None:
            self._reset_all()
            while len(stats.returns) < num_episodes:
                self._run(64, explore, random_actions, stats, global_step, keep=False)
            return SampleResult({}, stats, 0, 0, self.worker_index)
        if num_timesteps is None:
            frag = self.config.get_rollout_fragment_length(self.worker_index)
        else:
            frag = math.ceil(num_timesteps / self.num_envs)
        batch = self._run(frag, explore, random_actions, stats, global_step, keep=True)
        steps = frag * self.num_envs
        if self._writer is not None:
            self._writer.write(batch)
        return SampleResult({DEFAULT_MODULE_ID: batch}, stats, steps, steps,
                            self.worker_index)

    def _run(self, T: int, explore: bool, random_actions: bool, stats: EpisodeStats,
             global_step: int | None, keep: bool) -> dict[str, np.ndarray]:
        n, env, module = self.num_envs, self.env, self.module
        obs_buf = np.empty((T, n) + self._obs.shape[1:], dtype=self._obs.dtype)
        next_buf = np.empty_like(obs_buf)
        rew = np.empty((T, n), dtype=np.float32)
        term = np.empty((T, n), dtype=bool)
        trunc = np.empty((T, n), dtype=bool)
        act_buf: np.ndarray | None = None
        extra: dict[str, np.ndarray] = {}
        eps = np.empty((T, n), dtype=np.int64)
        ts = np.empty((T, n), dtype=np.int64)
        fwd = module.forward_exploration if explore else module.forward_inference
        kw = {} if global_step is None else {"t": global_step}
        normalize, clip = self.config.normalize_actions, self.config.clip_actions
        for t in range(T):
            obs = self._obs
            if random_actions:
                out = {Columns.ACTIONS: _random_actions(self.act_space, n, normalize)}
            else:
                batch = self._env_to_module(rl_module=module, batch={Columns.OBS: obs},
                                            explore=explore)
                with torch.inference_mode():
                    mout = fwd(batch, **({**kw, "t": global_step + t * n} if kw else {}))
                out = self._module_to_env(rl_module=module, batch=mout, explore=explore)
            actions = out[Columns.ACTIONS]
            if act_buf is None:
                act_buf = np.empty((T,) + actions.shape, dtype=actions.dtype)
            act_buf[t] = actions
            for k, v in out.items():
                if k != Columns.ACTIONS:
                    if k not in extra:
                        extra[k] = np.empty((T,) + v.shape, dtype=v.dtype)
                    extra[k][t] = v
            nobs, r, te, tr, infos = env.step(unsquash_actions(actions, self.act_space,
                                                               normalize, clip))
            obs_buf[t] = obs
            rew[t] = r
            term[t] = te
            trunc[t] = tr
            eps[t] = self._eps
            ts[t] = self._t
            done = te | tr
            self._ret += r
            self._len += 1
            self._t += 1
            if done.any():
                real_next = nobs.copy()
                final = infos.get("final_obs")
                for i in np.flatnonzero(done):
                    if final is not None and final[i] is not None:
                        real_next[i] = final[i]
                    stats.returns.append(float(self._ret[i]))
                    stats.lengths.append(int(self._len[i]))
                    self._ret[i] = 0.0
                    self._len[i] = 0
                    self._t[i] = 0
                    self._eps[i] = self._eps_counter
                    self._eps_counter += 1
                next_buf[t] = real_next
            else:
                next_buf[t] = nobs
            self._obs = nobs
        self.lifetime_steps += T * n
        if not keep:
            return {}
        seg = np.zeros((T, n), dtype=bool)
        seg[-1] = True
        seg |= term | trunc
        cols = {Columns.OBS: obs_buf, Columns.NEXT_OBS: next_buf, Columns.ACTIONS: act_buf,
                Columns.REWARDS: rew, Columns.TERMINATEDS: term, Columns.TRUNCATEDS: trunc,
                Columns.SEG_ENDS: seg, Columns.EPS_ID: eps, Columns.T: ts, **extra}
        # env-major: each env's rows are contiguous.
        return {k: np.ascontiguousarray(v.swapaxes(0, 1)).reshape((T * n,) + v.shape[2:])
                for k, v in cols.items()}

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.env.close()


def _random_actions(space: gym.Space, n: int, normalized: bool) -> np.ndarray:
    if isinstance(space, gym.spaces.Box) and normalized:
        return np.random.uniform(-1.0, 1.0, (n,) + space.shape).astype(np.float32)
    return np.stack([space.sample() for _ in range(n)])
