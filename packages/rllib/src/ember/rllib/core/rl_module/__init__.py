"""RLModules: the networks of policies, and the specs that build them."""

from ember.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ember.rllib.core.rl_module.multi_rl_module import MultiRLModule, MultiRLModuleSpec
from ember.rllib.core.rl_module.rl_module import RLModule, RLModuleSpec

__all__ = ["DefaultModelConfig", "MultiRLModule", "MultiRLModuleSpec", "RLModule",
           "RLModuleSpec"]
