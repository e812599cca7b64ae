"""ConnectorV2 pieces and pipelines: the data transforms between envs, modules, learners.

Three pipelines exist, as in RLlib: env-to-module (observations -> module input batch),
module-to-env (module outputs -> actions for the env) and the learner connector (sampled
batch -> train batch, e.g. advantages). A piece is a callable object:

    class ClipObs(ConnectorV2):
        def __call__(self, *, rl_module, batch, episodes=None, explore=None,
                     shared_data=None, **kwargs):
            batch["obs"] = np.clip(batch["obs"], -5, 5)
            return batch

Custom pieces are given to the config (`env_runners(env_to_module_connector=...)`,
`training(learner_connector=...)`) as a function of the env (or spaces) returning a piece
or a list of pieces; they run before the built-in pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ConnectorPipelineV2", "ConnectorV2", "make_pipeline"]


class ConnectorV2:
    """One transform of a batch dict; subclasses implement __call__."""

    def __init__(self, input_observation_space: Any = None,
                 input_action_space: Any = None, **kwargs: Any) -> None:
        self.input_observation_space = input_observation_space
        self.input_action_space = input_action_space

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: Any = None,
                 explore: bool | None = None, shared_data: dict | None = None,
                 **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass


class ConnectorPipelineV2(ConnectorV2):
    """Runs its pieces in order, each on the previous one's output."""

    def __init__(self, connectors: Iterable[ConnectorV2] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connectors = list(connectors)

    def __call__(self, *, rl_module: Any, batch: dict[str, Any], episodes: Any = None,
                 explore: bool | None = None, shared_data: dict | None = None,
                 **kwargs: Any) -> dict[str, Any]:
        shared = {} if shared_data is None else shared_data
        for c in self.connectors:
            batch = c(rl_module=rl_module, batch=batch, episodes=episodes, explore=explore,
                      shared_data=shared, **kwargs)
        return batch

    def prepend(self, connector: ConnectorV2) -> None:
        self.connectors.insert(0, connector)

    def append(self, connector: ConnectorV2) -> None:
        self.connectors.append(connector)

    def __len__(self) -> int:
        return len(self.connectors)

    def get_state(self) -> dict[str, Any]:
        return {str(i): c.get_state() for i, c in enumerate(self.connectors)}

    def set_state(self, state: dict[str, Any]) -> None:
        for i, c in enumerate(self.connectors):
            if str(i) in state:
                c.set_state(state[str(i)])


def make_pipeline(user: Callable[..., Any] | None, *args: Any,
                  builtin: Iterable[ConnectorV2] = ()) -> ConnectorPipelineV2:
    """The user's pieces (from a factory called with `args`) followed by the built-ins."""
    pieces: list[ConnectorV2] = []
    if user is not None:
        made = user(*args)
        pieces += list(made) if isinstance(made, list | tuple) else [made]
    return ConnectorPipelineV2(pieces + list(builtin))
