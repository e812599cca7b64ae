"""n-step transitions from contiguous trajectory pieces (for replay-based algorithms)."""

from __future__ import annotations

import numpy as np

from ember.rllib.core.columns import Columns

__all__ = ["n_step_transitions"]


def n_step_transitions(batch: dict[str, np.ndarray], n: int,
                       gamma: float) -> dict[str, np.ndarray]:
    """Each row becomes (obs_t, a_t, sum_k gamma^k r_{t+k}, obs_{t+m}, done, gamma^m).

    m <= n stops at the end of a trajectory piece (episode end or fragment end), so no
    transition spans two episodes; DISCOUNTS holds gamma^m for the bootstrap term.
    """
    rew = batch[Columns.REWARDS].astype(np.float32)
    seg = batch[Columns.SEG_ENDS]
    N = len(rew)
    last = np.arange(N)
    ret = rew.copy()
    alive = ~seg
    for k in range(1, max(1, int(n))):
        if not alive.any():
            break
        nxt = last[alive] + 1
        ret[alive] += (gamma ** k) * rew[nxt]
        last[alive] = nxt
        alive &= ~seg[last]
    steps = last - np.arange(N) + 1
    return {Columns.OBS: batch[Columns.OBS], Columns.ACTIONS: batch[Columns.ACTIONS],
            Columns.REWARDS: ret, Columns.NEXT_OBS: batch[Columns.NEXT_OBS][last],
            Columns.TERMINATEDS: batch[Columns.TERMINATEDS][last].astype(np.float32),
            Columns.DISCOUNTS: (gamma ** steps).astype(np.float32)}
