"""EnvRunner: the base of the objects that step environments and return sampled batches."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EnvRunner", "EpisodeStats", "SampleResult"]


@dataclass
class EpisodeStats:
    """Episodes completed during one sample() call."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    agent_returns: dict[str, list[float]] = field(default_factory=dict)
    module_returns: dict[str, list[float]] = field(default_factory=dict)

    def extend(self, other: EpisodeStats) -> None:
        self.returns += other.returns
        self.lengths += other.lengths
        for src, dst in ((other.agent_returns, self.agent_returns),
                         (other.module_returns, self.module_returns)):
            for k, v in src.items():
                dst.setdefault(k, []).extend(v)


@dataclass
class SampleResult:
    """What an env runner returns from sample(): per-module batches and episode stats.

    Each batch is a dict of numpy arrays (Columns keys) holding contiguous trajectory
    pieces: a row's successor is the next row unless `seg_ends` is True there.
    """

    batches: dict[str, dict[str, np.ndarray]]
    stats: EpisodeStats
    env_steps: int
    agent_steps: int
    worker_index: int = 0


class EnvRunner:
    """Common helpers of single- and multi-agent env runners (also run as actors)."""

    worker_index: int = 0

    def ping(self) -> str:
        return "pong"

    def pid(self) -> int:
        """The OS process id of this runner (for tests and fault injection)."""
        return os.getpid()

    def apply(self, func: Callable[[Any], Any]) -> Any:
        """Run `func(self)` here and return its result (EnvRunnerGroup.foreach_env_runner)."""
        return func(self)

    def get_spaces(self) -> dict[str, tuple[Any, Any]]:
        raise NotImplementedError

    def sample(self, **kwargs: Any) -> SampleResult:
        raise NotImplementedError

    def set_weights(self, weights: dict[str, Any]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Close the environments."""
