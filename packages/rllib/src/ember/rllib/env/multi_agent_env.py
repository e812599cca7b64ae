"""MultiAgentEnv: RLlib's multi-agent environment API on gymnasium.

reset() -> (obs_dict, info_dict); step(action_dict) -> (obs, rewards, terminateds,
truncateds, infos), each a dict keyed by agent id; terminateds/truncateds carry "__all__"
to end the episode. An agent acts in a step when it has an observation in the previous
return. Spaces: `observation_spaces` / `action_spaces` dicts keyed by agent id (or
override get_observation_space / get_action_space).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["MultiAgentEnv"]


class MultiAgentEnv(gym.Env):
    """Subclass, set possible_agents (and agents), the space dicts, reset() and step()."""

    observation_spaces: dict[Any, gym.Space] | None = None
    action_spaces: dict[Any, gym.Space] | None = None

    def __init__(self) -> None:
        super().__init__()
        if not hasattr(self, "possible_agents"):
            self.possible_agents: list[Any] = []
        if not hasattr(self, "agents"):
            self.agents: list[Any] = list(self.possible_agents)

    def get_observation_space(self, agent_id: Any) -> gym.Space:
        if self.observation_spaces is not None:
            return self.observation_spaces[agent_id]
        return self.observation_space[agent_id]  # type: ignore[index]

    def get_action_space(self, agent_id: Any) -> gym.Space:
        if self.action_spaces is not None:
            return self.action_spaces[agent_id]
        return self.action_space[agent_id]  # type: ignore[index]

    @property
    def num_agents(self) -> int:
        return len(self.agents)

    @property
    def max_num_agents(self) -> int:
        return len(self.possible_agents)

    def reset(self, *, seed: int | None = None,
              options: dict | None = None) -> tuple[dict, dict]:
        raise NotImplementedError

    def step(self, action_dict: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
        raise NotImplementedError
