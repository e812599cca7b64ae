"""Result assembly: episode windows and RLlib's nested result keys."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from typing import Any

import numpy as np

from ember.rllib.env.env_runner import EpisodeStats

__all__ = ["EpisodeWindow", "average_learner_results", "episode_metrics",
           "flatten_result"]


class EpisodeWindow:
    """The last `size` episodes' returns and lengths (RLlib's smoothing window)."""

    def __init__(self, size: int) -> None:
        self.returns: deque[float] = deque(maxlen=max(1, size))
        self.lengths: deque[int] = deque(maxlen=max(1, size))
        self.agent: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=max(1, size)))
        self.module: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=max(1, size)))

    def add(self, stats: EpisodeStats) -> None:
        self.returns.extend(stats.returns)
        self.lengths.extend(stats.lengths)
        for k, v in stats.agent_returns.items():
            self.agent[k].extend(v)
        for k, v in stats.module_returns.items():
            self.module[k].extend(v)

    def state(self) -> dict[str, Any]:
        return {"returns": list(self.returns), "lengths": list(self.lengths)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.returns.extend(state.get("returns", []))
        self.lengths.extend(state.get("lengths", []))


def _mean(v: Any) -> float:
    return float(np.mean(v)) if len(v) else math.nan


def episode_metrics(window: EpisodeWindow, stats: EpisodeStats) -> dict[str, Any]:
    """result["env_runners"] episode keys from the window and this iteration's episodes."""
    r = window.returns
    out: dict[str, Any] = {
        "episode_return_mean": _mean(r),
        "episode_return_max": float(np.max(r)) if r else math.nan,
        "episode_return_min": float(np.min(r)) if r else math.nan,
        "episode_len_mean": _mean(window.lengths),
        "num_episodes": len(stats.returns),
    }
    if window.agent:
        out["agent_episode_returns_mean"] = {k: _mean(v) for k, v in window.agent.items()}
    if window.module:
        out["module_episode_returns_mean"] = {k: _mean(v) for k, v in window.module.items()}
    return out


def average_learner_results(results: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Several update() results of one iteration: counts summed, the rest averaged."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for res in results:
        for mid, vals in res.items():
            for k, v in vals.items():
                acc[mid][k].append(v)
    return {mid: {k: (float(np.sum(v)) if k.startswith("num_module_steps") else
                      float(np.mean(v))) for k, v in vals.items()}
            for mid, vals in acc.items()}


def flatten_result(result: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a/b": 1} (Tune's flat metric names)."""
    out: dict[str, Any] = {}
    for k, v in result.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k != "config":
            out.update(flatten_result(v, key + "/"))
        else:
            out[key] = v
    return out
