"""Replay buffers for off-policy algorithms: uniform and prioritized (sum tree).

Transitions are rows of a batch dict (obs, actions, rewards, new_obs, terminateds,
discounts, ...), stored column-wise in preallocated numpy rings; sampling returns a batch
dict of numpy arrays. Everything is vectorized over the sampled rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["PrioritizedReplayBuffer", "ReplayBuffer", "make_replay_buffer"]


class ReplayBuffer:
    """A ring of `capacity` transitions, sampled uniformly."""

    def __init__(self, capacity: int = 50_000, seed: int | None = None, **kwargs: Any) -> None:
        self.capacity = int(capacity)
        self._cols: dict[str, np.ndarray] = {}
        self._next = 0
        self.size = 0
        self.num_added = 0
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        """Append the rows of `batch`; returns the slots they went to."""
        n = len(next(iter(batch.values())))
        if not self._cols:
            for k, v in batch.items():
                v = np.asarray(v)
                self._cols[k] = np.zeros((self.capacity,) + v.shape[1:], dtype=v.dtype)
        idx = (self._next + np.arange(n)) % self.capacity
        for k, col in self._cols.items():
            col[idx] = batch[k]
        self._next = int((self._next + n) % self.capacity)
        self.size = min(self.capacity, self.size + n)
        self.num_added += n
        return idx

    def _take(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        return {k: col[idx] for k, col in self._cols.items()}

    def sample(self, num_items: int, **kwargs: Any) -> dict[str, np.ndarray]:
        if self.size == 0:
            raise ValueError("Cannot sample from an empty replay buffer.")
        idx = self._rng.integers(0, self.size, num_items)
        out = self._take(idx)
        out["weights"] = np.ones(num_items, dtype=np.float32)
        out["batch_indexes"] = idx
        return out

    def update_priorities(self, indexes: np.ndarray, td_errors: np.ndarray) -> None:
        """No-op for uniform replay."""

    def get_state(self) -> dict[str, Any]:
        return {"cols": self._cols, "next": self._next, "size": self.size,
                "num_added": self.num_added}

    def set_state(self, state: dict[str, Any]) -> None:
        self._cols, self._next = state["cols"], state["next"]
        self.size, self.num_added = state["size"], state["num_added"]


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al. 2016): p_i^alpha sampling,
    importance weights (N p_i)^-beta normalized by their maximum."""

    def __init__(self, capacity: int = 50_000, alpha: float = 0.6, beta: float = 0.4,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(capacity, seed)
        self.alpha, self.beta = float(alpha), float(beta)
        self._leaves = 1 << max(1, int(np.ceil(np.log2(self.capacity))))
        self._tree = np.zeros(2 * self._leaves)
        self._max_priority = 1.0

    def _set(self, idx: np.ndarray, prio: np.ndarray) -> None:
        nodes = idx + self._leaves
        self._tree[nodes] = prio
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self._tree[nodes] = self._tree[2 * nodes] + self._tree[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def add(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        idx = super().add(batch)
        self._set(idx, np.full(len(idx), self._max_priority ** self.alpha))
        return idx

    def sample(self, num_items: int, beta: float | None = None,
               **kwargs: Any) -> dict[str, np.ndarray]:
        if self.size == 0:
            raise ValueError("Cannot sample from an empty replay buffer.")
        total = self._tree[1]
        # Stratified: one draw in each of num_items equal slices of the total mass.
        u = (np.arange(num_items) + self._rng.random(num_items)) * (total / num_items)
        node = np.ones(num_items, dtype=np.int64)
        while node[0] < self._leaves:
            left = self._tree[2 * node]
            right = u > left
            u = np.where(right, u - left, u)
            node = 2 * node + right
        idx = np.minimum(node - self._leaves, self.size - 1)
        p = self._tree[idx + self._leaves] / total
        b = self.beta if beta is None else beta
        leaves = self._tree[self._leaves:self._leaves + self.size]
        p_min = leaves[leaves > 0].min() / total
        weights = (p / p_min) ** (-b)
        out = self._take(idx)
        out["weights"] = weights.astype(np.float32)
        out["batch_indexes"] = idx
        return out

    def update_priorities(self, indexes: np.ndarray, td_errors: np.ndarray) -> None:
        prio = np.abs(np.asarray(td_errors, dtype=np.float64)) + 1e-6
        self._max_priority = max(self._max_priority, float(prio.max()))
        self._set(np.asarray(indexes), prio ** self.alpha)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "tree": self._tree, "max_priority": self._max_priority}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._tree, self._max_priority = state["tree"], state["max_priority"]


def make_replay_buffer(config: dict[str, Any], seed: int | None = None) -> ReplayBuffer:
    """A buffer from RLlib's replay_buffer_config ({"type": ..., "capacity": ..., ...})."""
    cfg = dict(config)
    kind = cfg.pop("type", "PrioritizedEpisodeReplayBuffer")
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", "")
    if isinstance(kind, type) and issubclass(kind, ReplayBuffer):
        return kind(seed=seed, **cfg)
    if "Prioritized" in name:
        return PrioritizedReplayBuffer(seed=seed, **cfg)
    cfg.pop("alpha", None)
    cfg.pop("beta", None)
    return ReplayBuffer(seed=seed, **cfg)
