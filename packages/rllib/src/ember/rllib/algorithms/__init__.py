"""RLlib's algorithms; each is also a Tune trainable registered under its name."""

from ember.rllib.algorithms.algorithm import Algorithm
from ember.rllib.algorithms.algorithm_config import AlgorithmConfig
from ember.rllib.algorithms.appo import APPO, APPOConfig
from ember.rllib.algorithms.bc import BC, BCConfig
from ember.rllib.algorithms.dqn import DQN, DQNConfig
from ember.rllib.algorithms.impala import IMPALA, IMPALAConfig
from ember.rllib.algorithms.marwil import MARWIL, MARWILConfig
from ember.rllib.algorithms.ppo import PPO, PPOConfig
from ember.rllib.algorithms.registry import register_with_tune
from ember.rllib.algorithms.sac import SAC, SACConfig

register_with_tune()

__all__ = ["APPO", "APPOConfig", "Algorithm", "AlgorithmConfig", "BC", "BCConfig", "DQN",
           "DQNConfig", "IMPALA", "IMPALAConfig", "MARWIL", "MARWILConfig", "PPO",
           "PPOConfig", "SAC", "SACConfig"]
