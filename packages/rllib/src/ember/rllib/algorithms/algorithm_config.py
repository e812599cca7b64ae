"""AlgorithmConfig: RLlib's fluent config builder.

    config = (PPOConfig()
              .environment("CartPole-v1")
              .env_runners(num_env_runners=0, num_envs_per_env_runner=8)
              .training(lr=3e-4, train_batch_size_per_learner=2048, minibatch_size=256)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64])))
    algo = config.build_algo()

Each builder method sets the attributes of its group (the same names as RLlib's) and
returns the config; an unknown keyword raises TypeError naming the method's keywords.
Algorithm configs add their own `training()` keywords as attributes set in `__init__`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from ember.rllib.core import DEFAULT_MODULE_ID
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ember.rllib.core.rl_module.rl_module import RLModuleSpec
from ember.rllib.utils.registry import get_env_creator

__all__ = ["AlgorithmConfig", "NotProvided"]


class _NotProvided:
    def __repr__(self) -> str:
        return "NotProvided"


NotProvided: Any = _NotProvided()

_GROUPS: dict[str, tuple[str, ...]] = {
    "environment": ("env", "env_config", "observation_space", "action_space", "clip_rewards",
                    "normalize_actions", "clip_actions", "disable_env_checking"),
    "env_runners": ("num_env_runners", "num_envs_per_env_runner", "rollout_fragment_length",
                    "explore", "num_cpus_per_env_runner", "env_to_module_connector",
                    "module_to_env_connector", "batch_mode", "sample_timeout_s",
                    "env_runner_cls", "episodes_to_numpy", "add_default_connectors_to_env_to_module_pipeline",
                    "add_default_connectors_to_module_to_env_pipeline"),
    "learners": ("num_learners", "num_cpus_per_learner", "num_gpus_per_learner"),
    "rl_module": ("model_config", "rl_module_spec", "algorithm_config_overrides_per_module"),
    "evaluation": ("evaluation_interval", "evaluation_duration", "evaluation_duration_unit",
                   "evaluation_num_env_runners", "evaluation_config",
                   "evaluation_parallel_to_training", "evaluation_sample_timeout_s"),
    "multi_agent": ("policies", "policy_mapping_fn", "policies_to_train",
                    "count_steps_by"),
    "debugging": ("seed", "log_level", "logger_config"),
    "reporting": ("metrics_num_episodes_for_smoothing", "min_sample_timesteps_per_iteration",
                  "min_time_s_per_iteration", "min_train_timesteps_per_iteration",
                  "keep_per_episode_custom_metrics"),
    "fault_tolerance": ("restart_failed_env_runners", "max_num_env_runner_restarts",
                        "ignore_env_runner_failures"),
    "offline_data": ("input_", "output", "input_read_method_kwargs",
                     "output_max_rows_per_file", "dataset_num_iters_per_learner",
                     "input_read_schema"),
    "resources": ("num_gpus", "num_cpus_for_main_process", "torch_num_threads"),
    "framework": ("framework", "torch_compile_learner"),
    "api_stack": ("enable_rl_module_and_learner", "enable_env_runner_and_connector_v2"),
    "callbacks": ("callbacks_class",),
}
_ALIASES = {"lambda": "lambda_", "input": "input_", "num_rollout_workers": "num_env_runners",
            "num_envs_per_worker": "num_envs_per_env_runner", "sgd_minibatch_size":
            "minibatch_size", "num_sgd_iter": "num_epochs", "model": "model_config",
            "framework_str": "framework"}


class AlgorithmConfig:
    """The base config (RLlib's defaults); algorithm configs subclass it."""

    def __init__(self, algo_class: type | None = None) -> None:
        self.algo_class = algo_class
        # environment
        self.env: Any = None
        self.env_config: dict[str, Any] = {}
        self.observation_space = None
        self.action_space = None
        self.clip_rewards = None
        self.normalize_actions = True
        self.clip_actions = False
        self.disable_env_checking = False
        # env runners
        self.num_env_runners = 0
        self.num_envs_per_env_runner = 1
        self.rollout_fragment_length: int | str = "auto"
        self.explore = True
        self.num_cpus_per_env_runner = 1
        self.env_to_module_connector: Callable | None = None
        self.module_to_env_connector: Callable | None = None
        self.batch_mode = "truncate_episodes"
        self.sample_timeout_s = 60.0
        self.env_runner_cls = None
        self.episodes_to_numpy = True
        self.add_default_connectors_to_env_to_module_pipeline = True
        self.add_default_connectors_to_module_to_env_pipeline = True
        # learners
        self.num_learners = 0
        self.num_cpus_per_learner = 1
        self.num_gpus_per_learner = 0
        # training
        self.gamma = 0.99
        self.lr: Any = 0.001
        self.train_batch_size = 32
        self.train_batch_size_per_learner: int | None = None
        self.minibatch_size: int | None = None
        self.num_epochs = 1
        self.grad_clip: float | None = None
        self.grad_clip_by = "global_norm"
        self.learner_connector: Callable | None = None
        self.learner_class: type | None = None
        self.adam_epsilon = 1e-8
        # rl module
        self.model_config: Any = DefaultModelConfig()
        self.rl_module_spec: Any = None
        self.algorithm_config_overrides_per_module: dict = {}
        # evaluation
        self.evaluation_interval: int | None = None
        self.evaluation_duration: int | str = 10
        self.evaluation_duration_unit = "episodes"
        self.evaluation_num_env_runners = 0
        self.evaluation_config: dict | None = None
        self.evaluation_parallel_to_training = False
        self.evaluation_sample_timeout_s = 120.0
        # multi-agent
        self.policies: dict[str, Any] = {DEFAULT_MODULE_ID: None}
        self.policy_mapping_fn: Callable[..., str] = _default_mapping
        self.policies_to_train: Any = None
        self.count_steps_by = "env_steps"
        self._multi_agent_set = False
        # debugging, reporting, fault tolerance
        self.seed: int | None = None
        self.log_level = "WARN"
        self.logger_config = None
        self.metrics_num_episodes_for_smoothing = 100
        self.min_sample_timesteps_per_iteration = 0
        self.min_time_s_per_iteration: float | None = None
        self.min_train_timesteps_per_iteration = 0
        self.keep_per_episode_custom_metrics = False
        self.restart_failed_env_runners = True
        self.max_num_env_runner_restarts: int | None = 1000
        self.ignore_env_runner_failures = False
        # offline data
        self.input_: Any = None
        self.output: str | None = None
        self.input_read_method_kwargs: dict = {}
        self.output_max_rows_per_file: int | None = None
        self.dataset_num_iters_per_learner: int | None = None
        self.input_read_schema: dict = {}
        # resources / framework / api stack
        self.num_gpus = 0
        self.num_cpus_for_main_process = 1
        self.torch_num_threads = 1
        self.framework = "torch"
        self.torch_compile_learner = False
        self.enable_rl_module_and_learner = True
        self.enable_env_runner_and_connector_v2 = True
        self.callbacks_class = None
        self._frozen = False

    # ----- builder methods ---------------------------------------------------------------
    def _set(self, group: str | None, kwargs: dict[str, Any]) -> AlgorithmConfig:
        if self._frozen:
            raise RuntimeError("This config is frozen (it belongs to a built Algorithm): "
                               "call config.copy() to change it.")
        allowed = _GROUPS.get(group, ()) if group else ()
        for key, value in kwargs.items():
            if value is NotProvided:
                continue
            key = _ALIASES.get(key, key)
            ok = key in allowed if group else (hasattr(self, key) and key not in
                                               _ALL_GROUP_KEYS)
            if not ok:
                raise TypeError(f"{type(self).__name__}.{group or 'training'}() got an "
                                f"unexpected keyword {key!r}; it takes "
                                f"{sorted(allowed) if group else sorted(self._training_keys())}.")
            setattr(self, key, value)
        return self

    def _training_keys(self) -> list[str]:
        return [k for k in vars(self) if not k.startswith("_") and k not in _ALL_GROUP_KEYS
                and k != "algo_class"]

    def environment(self, env: Any = NotProvided, **kwargs: Any) -> AlgorithmConfig:
        """env (gymnasium id, registered name or env class), env_config, spaces, ..."""
        return self._set("environment", {"env": env, **kwargs})

    def env_runners(self, **kwargs: Any) -> AlgorithmConfig:
        """num_env_runners, num_envs_per_env_runner, rollout_fragment_length, explore, ..."""
        return self._set("env_runners", kwargs)

    def learners(self, **kwargs: Any) -> AlgorithmConfig:
        """num_learners, num_cpus_per_learner, num_gpus_per_learner."""
        return self._set("learners", kwargs)

    def training(self, **kwargs: Any) -> AlgorithmConfig:
        """gamma, lr (value or [[t, lr], ...]), train_batch_size_per_learner, minibatch_size,
        num_epochs, grad_clip, learner_connector, and the algorithm's own keywords."""
        return self._set(None, kwargs)

    def rl_module(self, **kwargs: Any) -> AlgorithmConfig:
        """model_config (DefaultModelConfig or dict), rl_module_spec (RLModuleSpec or
        MultiRLModuleSpec)."""
        return self._set("rl_module", kwargs)

    def evaluation(self, **kwargs: Any) -> AlgorithmConfig:
        """evaluation_interval, evaluation_duration (+ _unit "episodes"/"timesteps"),
        evaluation_num_env_runners, evaluation_config (dict of overrides, e.g. explore)."""
        return self._set("evaluation", kwargs)

    def multi_agent(self, **kwargs: Any) -> AlgorithmConfig:
        """policies (ids, or {id: RLModuleSpec | None}), policy_mapping_fn(agent_id, episode,
        **kw), policies_to_train (ids or fn(module_id, batch) -> bool)."""
        if "policies" in kwargs and kwargs["policies"] is not NotProvided:
            pol = kwargs["policies"]
            kwargs["policies"] = dict(pol) if isinstance(pol, dict) else \
                {p: None for p in pol}
            self._multi_agent_set = True
        if kwargs.get("policies_to_train") not in (None, NotProvided) and \
                not callable(kwargs["policies_to_train"]):
            kwargs["policies_to_train"] = list(kwargs["policies_to_train"])
        return self._set("multi_agent", kwargs)

    def debugging(self, **kwargs: Any) -> AlgorithmConfig:
        """seed, log_level."""
        return self._set("debugging", kwargs)

    def reporting(self, **kwargs: Any) -> AlgorithmConfig:
        """metrics_num_episodes_for_smoothing, min_sample_timesteps_per_iteration,
        min_time_s_per_iteration, min_train_timesteps_per_iteration."""
        return self._set("reporting", kwargs)

    def fault_tolerance(self, **kwargs: Any) -> AlgorithmConfig:
        """restart_failed_env_runners, max_num_env_runner_restarts."""
        return self._set("fault_tolerance", kwargs)

    def offline_data(self, **kwargs: Any) -> AlgorithmConfig:
        """input_ (path(s) of Parquet files or an ember.data Dataset), output (a folder to
        record sampled episodes to), output_max_rows_per_file."""
        return self._set("offline_data", kwargs)

    def resources(self, **kwargs: Any) -> AlgorithmConfig:
        """num_gpus, num_cpus_for_main_process, torch_num_threads."""
        return self._set("resources", kwargs)

    def framework(self, framework: str = "torch", **kwargs: Any) -> AlgorithmConfig:
        """Only "torch" is supported."""
        if framework != "torch":
            raise ValueError(f"Only framework='torch' is supported, not {framework!r}.")
        return self._set("framework", kwargs)

    def api_stack(self, **kwargs: Any) -> AlgorithmConfig:
        """Accepted for compatibility: only the new API stack exists."""
        return self._set("api_stack", kwargs)

    def callbacks(self, callbacks_class: Any = NotProvided) -> AlgorithmConfig:
        return self._set("callbacks", {"callbacks_class": callbacks_class})

    # ----- copying, dicts, building ---------------------------------------------------------
    def copy(self, copy_frozen: bool | None = None) -> AlgorithmConfig:
        """A deep copy (unfrozen unless copy_frozen)."""
        frozen = self._frozen
        self._frozen = False
        try:
            new = copy.deepcopy(self)
        finally:
            self._frozen = frozen
        new._frozen = bool(copy_frozen) if copy_frozen is not None else False
        return new

    def freeze(self) -> None:
        self._frozen = True

    def to_dict(self) -> dict[str, Any]:
        """A flat dict of every setting (Tune's param_space form)."""
        out = {("lambda" if k == "lambda_" else "input" if k == "input_" else k): v
               for k, v in vars(self).items() if not k.startswith("_")}
        if self._multi_agent_set:
            out["_multi_agent_set"] = True
        if isinstance(self.env, str):
            from ember.rllib.utils.registry import registered_envs

            creator = registered_envs().get(self.env)
            if creator is not None:
                out["_env_creator"] = creator
        return out

    def update_from_dict(self, config: dict[str, Any]) -> AlgorithmConfig:
        """Set attributes from a flat dict (as to_dict() writes it)."""
        frozen, self._frozen = self._frozen, False
        for key, value in config.items():
            key = _ALIASES.get(key, key)
            if key in ("_multi_agent_set", "_env_creator"):
                setattr(self, key, value)
            elif key == "policies" and not isinstance(value, dict):
                self.policies = {p: None for p in value}
            elif hasattr(self, key) and not key.startswith("_"):
                setattr(self, key, value)
            else:
                raise TypeError(f"Unknown {type(self).__name__} setting {key!r}.")
        self._frozen = frozen
        return self

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> AlgorithmConfig:
        return cls().update_from_dict(config)

    def build_algo(self, env: Any = None, **kwargs: Any) -> Any:
        """Build the Algorithm of this config."""
        if env is not None:
            self.environment(env)
        if self.algo_class is None:
            raise ValueError(f"{type(self).__name__} has no algo_class to build.")
        return self.algo_class(config=self.copy(), **kwargs)

    build = build_algo

    # ----- derived values ----------------------------------------------------------------
    @property
    def is_multi_agent(self) -> bool:
        return self._multi_agent_set or set(self.policies) != {DEFAULT_MODULE_ID}

    @property
    def is_offline(self) -> bool:
        return self.input_ is not None

    @property
    def total_train_batch_size(self) -> int:
        if self.train_batch_size_per_learner is not None:
            return int(self.train_batch_size_per_learner) * max(1, int(self.num_learners))
        return int(self.train_batch_size)

    def get_train_batch_size_per_learner(self) -> int:
        if self.train_batch_size_per_learner is not None:
            return int(self.train_batch_size_per_learner)
        return int(self.train_batch_size) // max(1, int(self.num_learners))

    def get_rollout_fragment_length(self, worker_index: int = 0) -> int:
        """Steps per env per sample() call ("auto": the train batch split over all envs)."""
        if self.rollout_fragment_length != "auto":
            return int(self.rollout_fragment_length)
        envs = max(1, int(self.num_env_runners)) * max(1, int(self.num_envs_per_env_runner))
        return max(1, -(-self.total_train_batch_size // envs))

    def env_creator(self) -> Callable[[Any], Any]:
        creator = getattr(self, "_env_creator", None)
        return creator if creator is not None else get_env_creator(self.env)

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        from ember.rllib.algorithms.ppo.default_ppo_rl_module import DefaultPPOTorchRLModule

        return RLModuleSpec(module_class=DefaultPPOTorchRLModule)

    def get_default_learner_class(self) -> type:
        raise NotImplementedError(f"{type(self).__name__} has no learner class.")

    def _model_config_dict(self) -> dict[str, Any]:
        mc = self.model_config
        if isinstance(mc, DefaultModelConfig):
            return dataclasses.asdict(mc)
        return dict(mc or {})

    def get_rl_module_spec(self, observation_space: Any = None, action_space: Any = None,
                           module_id: str = DEFAULT_MODULE_ID) -> RLModuleSpec:
        """The spec of one module: defaults, then rl_module_spec, then per-policy specs."""
        spec = self.get_default_rl_module_spec()
        user = self.rl_module_spec
        if isinstance(user, MultiRLModuleSpec):
            user = user.rl_module_specs.get(module_id)
        if isinstance(user, RLModuleSpec):
            spec.update(user)
        own = self.policies.get(module_id)
        if isinstance(own, RLModuleSpec):
            spec.update(own)
        model_config = {**self._model_config_dict(), **_as_dict(spec.model_config)}
        spec = dataclasses.replace(spec, model_config=model_config)
        if spec.observation_space is None:
            spec.observation_space = self.observation_space or observation_space
        if spec.action_space is None:
            spec.action_space = self.action_space or action_space
        return spec

    def get_multi_rl_module_spec(self, spaces: dict[str, tuple[Any, Any]]) -> MultiRLModuleSpec:
        """Specs of every policy, with spaces from {module_id: (obs_space, act_space)}."""
        specs = {}
        for mid in self.policies:
            obs, act = spaces.get(mid, (None, None))
            specs[mid] = self.get_rl_module_spec(obs, act, mid)
        return MultiRLModuleSpec(rl_module_specs=specs)

    def get_evaluation_config_object(self) -> AlgorithmConfig:
        """This config with evaluation_config's overrides (explore=False by default)."""
        cfg = self.copy()
        overrides = {"explore": False, **(self.evaluation_config or {})}
        cfg.update_from_dict(overrides)
        cfg.num_env_runners = self.evaluation_num_env_runners
        cfg.output = None
        return cfg

    def validate(self) -> None:
        """Raise ValueError on settings that cannot work together."""
        if self.env is None and getattr(self, "_env_creator", None) is None and \
                not self.is_offline:
            raise ValueError("No environment set: call config.environment(env=...).")
        if self.minibatch_size is not None and self.train_batch_size_per_learner is not None \
                and self.minibatch_size > self.train_batch_size_per_learner:
            raise ValueError(f"minibatch_size ({self.minibatch_size}) must not exceed "
                             f"train_batch_size_per_learner "
                             f"({self.train_batch_size_per_learner}).")
        if self.evaluation_duration_unit not in ("episodes", "timesteps"):
            raise ValueError("evaluation_duration_unit must be 'episodes' or 'timesteps'.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(env={self.env!r}, algo={getattr(self.algo_class, '__name__', None)})"


_ALL_GROUP_KEYS = frozenset(k for keys in _GROUPS.values() for k in keys)


def _as_dict(mc: Any) -> dict[str, Any]:
    if mc is None:
        return {}
    if isinstance(mc, DefaultModelConfig):
        return dataclasses.asdict(mc)
    return dict(mc)


def _default_mapping(agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
    return DEFAULT_MODULE_ID
