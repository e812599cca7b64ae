"""Torch RLModules."""

from ember.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule

__all__ = ["TorchRLModule"]
