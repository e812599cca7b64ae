"""Algorithm: builds env runners and learners from a config and trains in iterations.

An Algorithm is an `ember.tune.Trainable`: train() runs training_step() (the algorithm's
own sampling and learning) until the iteration's minimum steps/time are met and returns
RLlib's nested results (result["env_runners"]["episode_return_mean"],
result["learners"][module_id][...], num_env_steps_sampled_lifetime, ...). Tune can run it
by class or by its registered name ("PPO").
"""

from __future__ import annotations

import os
import pathlib
import random
import tempfile
import time
from typing import Any

import cloudpickle
import numpy as np
import torch

from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.connectors.common import unsquash_actions
from ember.rllib.core import DEFAULT_MODULE_ID
from ember.rllib.core.columns import Columns
from ember.rllib.core.learner.learner_group import LearnerGroup
from ember.rllib.core.rl_module.multi_rl_module import MultiRLModule
from ember.rllib.env.env_runner import EpisodeStats, SampleResult
from ember.rllib.env.env_runner_group import EnvRunnerGroup
from ember.rllib.utils.metrics import (
    EpisodeWindow,
    average_learner_results,
    episode_metrics,
    flatten_result,
)
from ember.tune import Trainable

__all__ = ["Algorithm"]

_STATE_FILE = "algorithm_state.pkl"
_LEARNER_DIR = os.path.join("learner_group", "learner")


class Algorithm(Trainable):
    """The base of all algorithms; subclasses implement training_step()."""

    _config_class: type[AlgorithmConfig] = AlgorithmConfig
    # Synchronous algorithms push new weights to the env runners after each update, as
    # RLlib does; asynchronous ones send them with their next sample request instead.
    sync_weights_after_training_step = True

    @classmethod
    def get_default_config(cls) -> AlgorithmConfig:
        return cls._config_class(algo_class=cls)

    def __init__(self, config: AlgorithmConfig | dict[str, Any] | None = None,
                 env: Any = None, **kwargs: Any) -> None:
        if config is None:
            config = self.get_default_config()
        elif isinstance(config, dict):
            config = self.get_default_config().update_from_dict(config)
        else:
            config = config.copy()
        if env is not None:
            config.environment(env)
        config.algo_class = type(self)
        config.validate()
        config.freeze()
        self._algo_config = config
        super().__init__(config.to_dict(), **kwargs)

    # ----- setup -----------------------------------------------------------------------
    def setup(self, _config: dict[str, Any]) -> None:
        c = self._algo_config
        self.config = c  # RLlib's algo.config is the AlgorithmConfig
        if c.seed is not None:
            random.seed(c.seed)
            np.random.seed(c.seed)
            torch.manual_seed(c.seed)
        torch.set_num_threads(max(1, int(c.torch_num_threads)))
        self._counters = {"num_env_steps_sampled_lifetime": 0,
                          "num_agent_steps_sampled_lifetime": 0,
                          "num_env_steps_trained_lifetime": 0, "num_episodes_lifetime": 0}
        self._window = EpisodeWindow(c.metrics_num_episodes_for_smoothing)
        self._iter_stats = EpisodeStats()
        self._iter_steps = 0
        self._timers: dict[str, float] = {}
        self.env_runner_group: EnvRunnerGroup | None = None
        self.eval_env_runner_group: EnvRunnerGroup | None = None
        spaces = self._setup_env_runners()
        spec = c.get_multi_rl_module_spec(spaces)
        learner_cls = c.learner_class or c.get_default_learner_class()
        self.learner_group = LearnerGroup(c, learner_cls, spec)
        self._share_local_modules(self.env_runner_group)
        self.sync_env_runner_weights()
        if c.evaluation_interval:
            self._make_eval_group()
        self.setup_algorithm()

    def _runner_class(self) -> type:
        from ember.rllib.env.multi_agent_env import MultiAgentEnv
        from ember.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
        from ember.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

        c = self._algo_config
        if c.env_runner_cls is not None:
            return c.env_runner_cls
        ma = c.is_multi_agent or (isinstance(c.env, type) and issubclass(c.env, MultiAgentEnv))
        return MultiAgentEnvRunner if ma else SingleAgentEnvRunner

    def _setup_env_runners(self) -> dict[str, tuple[Any, Any]]:
        c = self._algo_config
        if c.env is None and getattr(c, "_env_creator", None) is None:
            if c.observation_space is None or c.action_space is None:
                raise ValueError("An offline algorithm without an env needs "
                                 "config.environment(observation_space=..., action_space=...).")
            return {mid: (c.observation_space, c.action_space) for mid in c.policies}
        self.env_runner_group = EnvRunnerGroup(c, self._runner_class(), c.env_creator(),
                                               c.num_env_runners)
        return self.env_runner_group.get_spaces()

    def _make_eval_group(self) -> EnvRunnerGroup:
        c = self._algo_config
        if self.eval_env_runner_group is None:
            ec = c.get_evaluation_config_object()
            ec.freeze()
            self.eval_env_runner_group = EnvRunnerGroup(
                ec, self._runner_class(), c.env_creator(), ec.num_env_runners, is_eval=True)
            self._share_local_modules(self.eval_env_runner_group)
        return self.eval_env_runner_group

    def _share_local_modules(self, group: EnvRunnerGroup | None) -> None:
        """A driver-side runner acts with the local learner's modules: no weight copies."""
        if group is not None and group.local_env_runner is not None and \
                self.learner_group.is_local:
            group.local_env_runner.set_module(self.learner_group.local_learner.module)

    def setup_algorithm(self) -> None:
        """Hook for subclasses (replay buffers, offline data, ...)."""

    # ----- sampling helpers --------------------------------------------------------------
    def weights_for_runners(self) -> dict[str, Any] | None:
        """Weights to send with the next sample (None: runners share the learner's module)."""
        g = self.env_runner_group
        if g is not None and g.local_env_runner is not None and self.learner_group.is_local:
            return None
        return self.learner_group.get_weights()

    def record_samples(self, results: list[SampleResult]) -> dict[str, dict[str, np.ndarray]]:
        """Count steps and episodes of `results`; their batches merged per module."""
        merged: dict[str, list[dict[str, np.ndarray]]] = {}
        for r in results:
            self._counters["num_env_steps_sampled_lifetime"] += r.env_steps
            self._counters["num_agent_steps_sampled_lifetime"] += r.agent_steps
            self._counters["num_episodes_lifetime"] += len(r.stats.returns)
            self._iter_steps += r.env_steps
            self._iter_stats.extend(r.stats)
            self._window.add(r.stats)
            for mid, b in r.batches.items():
                merged.setdefault(mid, []).append(b)
        return {mid: (bs[0] if len(bs) == 1 else
                      {k: np.concatenate([b[k] for b in bs]) for k in bs[0]})
                for mid, bs in merged.items()}

    def sync_env_runner_weights(self) -> None:
        """Send the learners' weights to the env runners (a no-op when they share them)."""
        if self.env_runner_group is not None:
            self.env_runner_group.sync_weights(self.weights_for_runners())

    def sample(self, num_timesteps: int | None = None, **kwargs: Any,
               ) -> dict[str, dict[str, np.ndarray]]:
        """Synchronously sample from all env runners (with their current weights)."""
        t0 = time.perf_counter()
        res = self.env_runner_group.sample(num_timesteps=num_timesteps, **kwargs)
        self._timers["env_runner_sampling_timer"] = time.perf_counter() - t0
        return self.record_samples(res)

    # ----- the iteration -----------------------------------------------------------------
    def training_step(self) -> dict[str, Any]:
        """One round of sampling and learning; returns the learner results."""
        raise NotImplementedError(f"{type(self).__name__} must implement training_step().")

    def step(self) -> dict[str, Any]:
        c = self._algo_config
        start = time.time()
        self._iter_stats, self._iter_steps = EpisodeStats(), 0
        trained_before = self._counters["num_env_steps_trained_lifetime"]
        learner_results = []
        while True:
            res = self.training_step()
            if res:
                learner_results.append(res)
                if self.sync_weights_after_training_step:
                    self.sync_env_runner_weights()
            trained = self._counters["num_env_steps_trained_lifetime"] - trained_before
            if self._iter_steps >= (c.min_sample_timesteps_per_iteration or 0) and \
                    trained >= (c.min_train_timesteps_per_iteration or 0) and \
                    time.time() - start >= (c.min_time_s_per_iteration or 0):
                break
        result = self._results(learner_results, time.time() - start)
        if c.evaluation_interval and (self.iteration + 1) % c.evaluation_interval == 0:
            result["evaluation"] = self.evaluate()
        if self.trial_id != "default":  # under Tune: flat "a/b" names for metrics, stoppers
            result.update({k: v for k, v in flatten_result(result).items() if "/" in k})
        return result

    def _results(self, learner_results: list[dict], dt: float) -> dict[str, Any]:
        runners = episode_metrics(self._window, self._iter_stats)
        runners.update(num_env_steps_sampled=self._iter_steps,
                       num_env_steps_sampled_lifetime=self._counters[
                           "num_env_steps_sampled_lifetime"],
                       num_episodes_lifetime=self._counters["num_episodes_lifetime"])
        g = self.env_runner_group
        return {
            "env_runners": runners,
            "learners": average_learner_results(learner_results),
            **self._counters,
            "timesteps_total": self._counters["num_env_steps_sampled_lifetime"],
            "timers": {"training_iteration": dt, **self._timers},
            "fault_tolerance": {
                "num_healthy_workers": g.num_healthy_env_runners() if g else 0,
                "num_remote_worker_restarts": g.num_restarts if g else 0},
        }

    # ----- evaluation and acting -----------------------------------------------------------
    def evaluate(self) -> dict[str, Any]:
        """Run the evaluation env runners; returns {"env_runners": {episode_return_mean...}}."""
        c = self._algo_config
        group = self._make_eval_group()
        weights = None if group.local_env_runner is not None and self.learner_group.is_local \
            else self.learner_group.get_weights()
        dur = 10 if c.evaluation_duration == "auto" else int(c.evaluation_duration)
        explore = bool(group.config.explore)
        if c.evaluation_duration_unit == "episodes":
            res = group.sample(num_episodes=dur, weights=weights, explore=explore)
        else:
            res = group.sample(num_timesteps=dur, weights=weights, explore=explore)
        stats = EpisodeStats()
        for r in res:
            stats.extend(r.stats)
        window = EpisodeWindow(max(1, len(stats.returns)))
        window.add(stats)
        out = episode_metrics(window, stats)
        out["num_env_steps_sampled"] = int(sum(stats.lengths))
        return {"env_runners": out}

    def get_module(self, module_id: str = DEFAULT_MODULE_ID) -> Any:
        """The RLModule of `module_id` (with the current weights)."""
        if self.learner_group.is_local:
            return self.learner_group.local_learner.module[module_id]
        g = self.env_runner_group
        spaces = g.get_spaces() if g else {}
        module = self._algo_config.get_rl_module_spec(*spaces.get(module_id, (None, None)),
                                                      module_id=module_id).build()
        module.set_state(self.learner_group.get_weights([module_id])[module_id])
        return module

    def compute_single_action(self, observation: Any, explore: bool = False,
                              policy_id: str = DEFAULT_MODULE_ID) -> Any:
        """The action for one observation (greedy unless explore), in the env's units."""
        actions = self.compute_actions(np.asarray(observation)[None], explore, policy_id)
        return actions[0]

    def compute_actions(self, observations: Any, explore: bool = False,
                        policy_id: str = DEFAULT_MODULE_ID) -> np.ndarray:
        """Actions for a batch of observations (env units)."""
        from ember.rllib.connectors.common import GetActions, ObsToTensor

        module = self.get_module(policy_id)
        batch = ObsToTensor()(rl_module=module, batch={Columns.OBS: np.asarray(observations)})
        with torch.inference_mode():
            out = (module.forward_exploration if explore else module.forward_inference)(batch)
        acts = GetActions()(rl_module=module, batch=out, explore=explore)[Columns.ACTIONS]
        c = self._algo_config
        return unsquash_actions(acts, module.action_space, c.normalize_actions, c.clip_actions)

    # ----- checkpoints -----------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"counters": dict(self._counters), "window": self._window.state(),
                "iteration": self._iteration, "time_total": self._time_total,
                "extra": self.get_extra_state()}

    def get_extra_state(self) -> dict[str, Any]:
        """Algorithm-specific state (e.g. replay buffer counters) for checkpoints."""
        return {}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def save_to_path(self, path: str | os.PathLike | None = None) -> str:
        """Write a checkpoint folder; returns its path (Algorithm.from_checkpoint reads it)."""
        path = pathlib.Path(path or tempfile.mkdtemp(prefix=f"{type(self).__name__}_ckpt_"))
        path.mkdir(parents=True, exist_ok=True)
        with open(path / _STATE_FILE, "wb") as f:
            cloudpickle.dump({"algo_class": type(self), "config": self._algo_config.copy(),
                              "state": self.get_state()}, f)
        ldir = path / _LEARNER_DIR
        ldir.mkdir(parents=True, exist_ok=True)
        torch.save(self.learner_group.get_state(), ldir / "learner_state.pt")
        module = MultiRLModule({mid: self.get_module(mid) for mid in self._algo_config.policies})
        module.save_to_path(ldir / "rl_module")
        return str(path)

    def restore_from_path(self, path: str | os.PathLike) -> None:
        """Load a checkpoint written by save_to_path into this algorithm."""
        path = pathlib.Path(path)
        with open(path / _STATE_FILE, "rb") as f:
            saved = cloudpickle.load(f)
        state = saved["state"]
        self._counters.update(state["counters"])
        self._window.set_state(state["window"])
        self._iteration = state.get("iteration", self._iteration)
        self._time_total = state.get("time_total", self._time_total)
        self.set_extra_state(state.get("extra", {}))
        self.learner_group.set_state(torch.load(path / _LEARNER_DIR / "learner_state.pt",
                                                weights_only=False))
        if self.env_runner_group is not None:
            self.env_runner_group.sync_weights(self.weights_for_runners())

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> Algorithm:
        """A new algorithm (of the saved class and config) with the checkpoint's state."""
        with open(pathlib.Path(path) / _STATE_FILE, "rb") as f:
            saved = cloudpickle.load(f)
        algo = saved["algo_class"](config=saved["config"])
        algo.restore_from_path(path)
        return algo

    # Tune's Trainable hooks
    def save_checkpoint(self, checkpoint_dir: str) -> dict | None:
        self.save_to_path(checkpoint_dir)
        return None

    def load_checkpoint(self, checkpoint: dict | str) -> None:
        self.restore_from_path(checkpoint)

    def cleanup(self) -> None:
        for g in (self.env_runner_group, self.eval_env_runner_group):
            if g is not None:
                g.stop()
        self.env_runner_group = self.eval_env_runner_group = None
        if getattr(self, "learner_group", None) is not None:
            self.learner_group.shutdown()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(env={self._algo_config.env!r})"
