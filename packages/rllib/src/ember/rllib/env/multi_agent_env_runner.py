"""MultiAgentEnvRunner: steps MultiAgentEnvs, maps agents to modules, batches per module.

Every step, the observations of all agents (of all envs in this runner) that map to the
same module go through that module in one forward pass. A transition of an agent is
complete when its next observation arrives (rewards in between are summed), so agents
may act at different times. Each (env, agent) trajectory piece is contiguous in its
module's batch, with seg_ends on the piece's last row (see SampleResult).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ember.rllib.connectors.common import GetActions, ObsToTensor, unsquash_actions
from ember.rllib.connectors.connector_v2 import make_pipeline
from ember.rllib.core.columns import Columns
from ember.rllib.env.env_context import EnvContext
from ember.rllib.env.env_runner import EnvRunner, EpisodeStats, SampleResult
from ember.rllib.offline.offline_writer import OfflineWriter

__all__ = ["MultiAgentEnvRunner"]


@dataclass
class _Pending:
    """An agent's transition waiting for its next observation."""

    obs: Any
    action: Any
    extra: dict[str, Any]
    reward: float = 0.0


@dataclass
class _EnvState:
    obs: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)
    agent_ret: dict = field(default_factory=lambda: defaultdict(float))
    length: int = 0
    eps_id: int = 0
    t: int = 0


class MultiAgentEnvRunner(EnvRunner):
    """See the module docstring."""

    def __init__(self, config: Any, worker_index: int = 0, num_workers: int = 0,
                 env_creator: Any = None, module: Any = None, is_eval: bool = False) -> None:
        self.config = config
        self.worker_index = worker_index
        torch.set_num_threads(max(1, int(config.torch_num_threads)))
        creator = env_creator or config.env_creator()
        n = max(1, int(config.num_envs_per_env_runner))
        self.envs = [creator(EnvContext(config.env_config, worker_index, i, num_workers))
                     for i in range(n)]
        env0 = self.envs[0]
        self._map_fn = config.policy_mapping_fn
        self._spaces = self._module_spaces(env0)
        if module is None:
            spec = config.get_multi_rl_module_spec(self._spaces)
            for s in spec.rl_module_specs.values():
                s.inference_only = True
            module = spec.build()
        self.module = module
        self._env_to_module = make_pipeline(config.env_to_module_connector, env0,
                                            builtin=[ObsToTensor()])
        self._module_to_env = make_pipeline(config.module_to_env_connector, env0,
                                            builtin=[GetActions()])
        seed = config.seed
        self._seed = None if seed is None else int(seed) + 1000 * worker_index + (
            500 if is_eval else 0)
        self._eps_counter = worker_index * 1_000_000_000 + (500_000_000 if is_eval else 0)
        self._states = [self._reset(i, first=True) for i in range(n)]
        self._writer = OfflineWriter(config, worker_index) if config.output and \
            not is_eval else None

    def _module_spaces(self, env: Any) -> dict[str, tuple[Any, Any]]:
        agents = list(getattr(env, "possible_agents", None) or getattr(env, "agents", []))
        spaces: dict[str, tuple[Any, Any]] = {}
        for aid in agents:
            mid = self._map_fn(aid, None, worker=self)
            spaces.setdefault(mid, (env.get_observation_space(aid),
                                    env.get_action_space(aid)))
        if agents:
            first = (env.get_observation_space(agents[0]), env.get_action_space(agents[0]))
            for mid in self.config.policies:
                spaces.setdefault(mid, first)
        return spaces

    def _reset(self, i: int, first: bool = False) -> _EnvState:
        seed = None if (self._seed is None or not first) else self._seed + i
        obs, _ = self.envs[i].reset(seed=seed)
        st = _EnvState(obs=dict(obs), eps_id=self._eps_counter)
        self._eps_counter += 1
        return st

    def get_spaces(self) -> dict[str, tuple[Any, Any]]:
        return dict(self._spaces)

    def get_module(self, module_id: str) -> Any:
        return self.module[module_id]

    def set_module(self, multi_module: Any) -> None:
        self.module = multi_module

    def set_weights(self, weights: dict[str, Any]) -> None:
        self.module.set_state(weights)

    def _mid(self, st: _EnvState, aid: Any) -> str:
        if aid not in st.mapping:
            st.mapping[aid] = self._map_fn(aid, st, worker=self)
        return st.mapping[aid]

    # ----- sampling --------------------------------------------------------------------
    def sample(self, num_timesteps: int | None = None, num_episodes: int | None = None,
               explore: bool = True, random_actions: bool = False,
               weights: dict[str, Any] | None = None, global_step: int | None = None,
               ) -> SampleResult:
        """Step all envs until `num_timesteps` env steps or `num_episodes` episodes."""
        if weights is not None:
            self.set_weights(weights)
        stats = EpisodeStats()
        rows: dict[tuple[int, Any], list[dict]] = defaultdict(list)
        if num_episodes is not None:
            self._states = [self._reset(i) for i in range(len(self.envs))]
        if num_timesteps is None and num_episodes is None:
            num_timesteps = self.config.get_rollout_fragment_length(self.worker_index) * \
                len(self.envs)
        steps = 0
        while (num_episodes is None and steps < num_timesteps) or \
                (num_episodes is not None and len(stats.returns) < num_episodes):
            self._step_all(explore, random_actions, stats, rows)
            steps += len(self.envs)
        batches = self._batches(rows)
        if self._writer is not None:
            for mid, b in batches.items():
                self._writer.write(b, module_id=mid)
        agent_steps = sum(len(b[Columns.REWARDS]) for b in batches.values())
        return SampleResult(batches if num_episodes is None else {}, stats, steps,
                            agent_steps, self.worker_index)

    def _step_all(self, explore: bool, random_actions: bool, stats: EpisodeStats,
                  rows: dict) -> None:
        # 1. who acts, grouped by module
        groups: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for i, st in enumerate(self._states):
            for aid in st.obs:
                groups[self._mid(st, aid)].append((i, aid))
        actions: list[dict] = [{} for _ in self.envs]
        for mid, members in groups.items():
            module = self.module[mid]
            obs = np.stack([self._states[i].obs[aid] for i, aid in members])
            if random_actions:
                out = {Columns.ACTIONS: np.stack([self.envs[i].get_action_space(aid).sample()
                                                  for i, aid in members])}
            else:
                batch = self._env_to_module(rl_module=module, batch={Columns.OBS: obs},
                                            explore=explore)
                with torch.inference_mode():
                    fwd = module.forward_exploration if explore else module.forward_inference
                    mout = fwd(batch)
                out = self._module_to_env(rl_module=module, batch=mout, explore=explore)
            env_actions = unsquash_actions(out[Columns.ACTIONS], module.action_space,
                                           self.config.normalize_actions,
                                           self.config.clip_actions)
            for k, (i, aid) in enumerate(members):
                st = self._states[i]
                extra = {c: v[k] for c, v in out.items() if c != Columns.ACTIONS}
                extra[Columns.EPS_ID] = st.eps_id
                extra[Columns.T] = st.t
                st.pending[aid] = _Pending(obs[k], out[Columns.ACTIONS][k], extra)
                actions[i][aid] = env_actions[k]
        # 2. step each env and complete transitions
        for i, env in enumerate(self.envs):
            st = self._states[i]
            obs, rew, term, trunc, infos = env.step(actions[i])
            st.length += 1
            st.t += 1
            for aid, r in rew.items():
                st.agent_ret[aid] += float(r)
                if aid in st.pending:
                    st.pending[aid].reward += float(r)
            all_done = bool(term.get("__all__", False) or trunc.get("__all__", False))
            for aid in list(st.pending):
                done_a = bool(term.get(aid, False) or trunc.get(aid, False))
                if aid in obs or done_a or all_done:
                    p = st.pending.pop(aid)
                    nobs = obs.get(aid, p.obs)
                    rows[(i, aid)].append({
                        Columns.OBS: p.obs, Columns.ACTIONS: p.action,
                        Columns.REWARDS: p.reward, Columns.NEXT_OBS: nobs,
                        Columns.TERMINATEDS: bool(term.get(aid, False) or
                                                  term.get("__all__", False)),
                        Columns.TRUNCATEDS: bool(trunc.get(aid, False) or
                                                 (all_done and not term.get(aid, False)
                                                  and not term.get("__all__", False))),
                        **p.extra, "_mid": st.mapping[aid]})
            st.obs = {aid: o for aid, o in obs.items()
                      if not (term.get(aid, False) or trunc.get(aid, False))}
            if all_done:
                stats.returns.append(float(sum(st.agent_ret.values())))
                stats.lengths.append(st.length)
                per_module: dict[str, float] = defaultdict(float)
                for aid, r in st.agent_ret.items():
                    stats.agent_returns.setdefault(str(aid), []).append(r)
                    per_module[st.mapping.get(aid, "?")] += r
                for mid, r in per_module.items():
                    stats.module_returns.setdefault(mid, []).append(r)
                self._states[i] = self._reset(i)

    def _batches(self, rows: dict) -> dict[str, dict[str, np.ndarray]]:
        per_module: dict[str, list[dict]] = defaultdict(list)
        for _key, rs in rows.items():
            if not rs:
                continue
            for k, r in enumerate(rs):
                r[Columns.SEG_ENDS] = (k == len(rs) - 1) or r[Columns.TERMINATEDS] or \
                    r[Columns.TRUNCATEDS]
            per_module[rs[0]["_mid"]].extend(rs)
        out = {}
        for mid, rs in per_module.items():
            cols = [c for c in rs[0] if c != "_mid"]
            b = {c: np.asarray([r[c] for r in rs]) for c in cols}
            for c in (Columns.OBS, Columns.NEXT_OBS):
                if b[c].dtype == np.float64:
                    b[c] = b[c].astype(np.float32)
            b[Columns.REWARDS] = b[Columns.REWARDS].astype(np.float32)
            out[mid] = b
        return out

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for env in self.envs:
            env.close()
