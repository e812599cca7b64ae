"""RLModule: the neural network(s) of one policy, with RLlib's three forward passes.

An RLModule maps a batch dict (`{"obs": tensor, ...}`) to a dict of outputs; env runners
call forward_inference (greedy acting) or forward_exploration (sampling), learners call
forward_train. Subclasses build their layers in setup() and implement `_forward` (used by
all three) or the three `_forward_*` methods separately. The outputs that matter to the
rest of the library are `action_dist_inputs` (turned into an action distribution by the
classes that get_*_action_dist_cls() return) or `actions` directly.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from dataclasses import dataclass, field
from typing import Any

import cloudpickle
import gymnasium as gym

from ember.rllib.core.distributions import TorchDistribution, dist_class_for
from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig

__all__ = ["RLModule", "RLModuleSpec"]

_STATE_FILE = "module_state.pt"
_SPEC_FILE = "class_and_ctor_args.pkl"


def _model_config_dict(model_config: Any) -> dict[str, Any]:
    if model_config is None:
        return {}
    if isinstance(model_config, DefaultModelConfig):
        return dataclasses.asdict(model_config)
    if isinstance(model_config, dict):
        return dict(model_config)
    raise TypeError(f"model_config must be a DefaultModelConfig or a dict, got "
                    f"{type(model_config).__name__}.")


class RLModule:
    """Base class of all RLModules; see the module docstring."""

    framework = "torch"

    def __init__(self, *, observation_space: gym.Space | None = None,
                 action_space: gym.Space | None = None, inference_only: bool = False,
                 learner_only: bool = False, model_config: Any = None,
                 catalog_class: Any = None, **kwargs: Any) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.inference_only = inference_only
        self.learner_only = learner_only
        self.model_config = _model_config_dict(model_config)
        self.catalog_class = catalog_class
        self._ctor_kwargs = dict(observation_space=observation_space,
                                 action_space=action_space, inference_only=inference_only,
                                 learner_only=learner_only, model_config=model_config,
                                 catalog_class=catalog_class, **kwargs)
        self.setup()

    def setup(self) -> None:
        """Build the layers; called once by the constructor."""

    # ----- forward passes ------------------------------------------------------------
    def forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Outputs for acting greedily (evaluation, serving)."""
        return self._forward_inference(batch, **kwargs)

    def forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Outputs for acting while collecting training data."""
        return self._forward_exploration(batch, **kwargs)

    def forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Outputs the loss needs (with gradients)."""
        return self._forward_train(batch, **kwargs)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement _forward() or "
                                  "_forward_inference/_forward_exploration/_forward_train.")

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._forward(batch, **kwargs)

    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._forward(batch, **kwargs)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._forward(batch, **kwargs)

    # ----- action distributions ------------------------------------------------------
    def get_inference_action_dist_cls(self) -> type[TorchDistribution]:
        return dist_class_for(self.action_space)

    def get_exploration_action_dist_cls(self) -> type[TorchDistribution]:
        return dist_class_for(self.action_space)

    def get_train_action_dist_cls(self) -> type[TorchDistribution]:
        return dist_class_for(self.action_space)

    # ----- state and checkpoints -----------------------------------------------------
    def get_state(self, inference_only: bool = False) -> dict[str, Any]:
        """The module's weights as a dict of tensors."""
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def save_to_path(self, path: str | os.PathLike) -> str:
        """Write the weights and the constructor arguments; RLModule.from_checkpoint reads it."""
        import torch

        path = pathlib.Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save(self.get_state(), path / _STATE_FILE)
        with open(path / _SPEC_FILE, "wb") as f:
            cloudpickle.dump({"class": type(self), "kwargs": self._ctor_kwargs}, f)
        return str(path)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike) -> RLModule:
        """Rebuild a module saved with save_to_path (or inside an algorithm checkpoint)."""
        import torch

        path = pathlib.Path(path)
        with open(path / _SPEC_FILE, "rb") as f:
            spec = cloudpickle.load(f)
        module = spec["class"](**spec["kwargs"])
        module.set_state(torch.load(path / _STATE_FILE, weights_only=False))
        return module

    def restore_from_path(self, path: str | os.PathLike) -> None:
        import torch

        self.set_state(torch.load(pathlib.Path(path) / _STATE_FILE, weights_only=False))


@dataclass
class RLModuleSpec:
    """How to build one RLModule: its class, spaces and model config."""

    module_class: type[RLModule] | None = None
    observation_space: gym.Space | None = None
    action_space: gym.Space | None = None
    inference_only: bool = False
    learner_only: bool = False
    model_config: Any = None
    catalog_class: Any = None
    load_state_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self) -> RLModule:
        """Construct the module (spaces and class must be set)."""
        if self.module_class is None:
            raise ValueError("RLModuleSpec.module_class is not set.")
        if self.observation_space is None or self.action_space is None:
            raise ValueError("RLModuleSpec needs observation_space and action_space.")
        module = self.module_class(
            observation_space=self.observation_space, action_space=self.action_space,
            inference_only=self.inference_only, learner_only=self.learner_only,
            model_config=self.model_config, catalog_class=self.catalog_class, **self.extra)
        if self.load_state_path:
            module.restore_from_path(self.load_state_path)
        return module

    def update(self, other: RLModuleSpec, override: bool = True) -> None:
        """Fill (or with override, replace) fields from `other` where it sets them."""
        for f in dataclasses.fields(self):
            theirs = getattr(other, f.name)
            if theirs is None or theirs == {}:
                continue
            if override or getattr(self, f.name) in (None, {}):
                setattr(self, f.name, theirs)
