"""ember.rllib: reinforcement learning with RLlib's API (new API stack) on ember.

    from ember.rllib.algorithms.ppo import PPOConfig

    algo = PPOConfig().environment("CartPole-v1").build_algo()
    print(algo.train()["env_runners"]["episode_return_mean"])

Subpackages as in RLlib: `algorithms` (PPO, APPO, IMPALA, DQN, SAC, BC, MARWIL),
`core` (RLModule, Learner, Columns), `env` (MultiAgentEnv, env runners), `connectors`,
`offline`, `utils`. Importing ember.rllib registers the algorithms with Tune by name.
"""

from ember.rllib import algorithms
from ember.rllib.env.multi_agent_env import MultiAgentEnv
from ember.rllib.utils.registry import register_env

__version__ = "0.1.0"

__all__ = ["MultiAgentEnv", "algorithms", "register_env"]
