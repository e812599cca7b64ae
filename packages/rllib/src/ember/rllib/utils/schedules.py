"""Piecewise-linear schedules: a hyperparameter given as [[t0, v0], [t1, v1], ...]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Scheduler"]


class Scheduler:
    """value(t) for a fixed value or a list of [timestep, value] points (held at the ends)."""

    def __init__(self, spec: Any) -> None:
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            pts = sorted((float(t), float(v)) for t, v in spec)
            if not pts:
                raise ValueError("A schedule needs at least one [timestep, value] point.")
            self._t = np.array([p[0] for p in pts])
            self._v = np.array([p[1] for p in pts])
            self.fixed: float | None = None
        else:
            self.fixed = float(spec)

    @staticmethod
    def validate(spec: Any, name: str) -> None:
        """Raise ValueError with `name` if `spec` is neither a number nor a schedule."""
        try:
            Scheduler(spec)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name} must be a number or a list of [timestep, value] "
                             f"pairs, got {spec!r} ({e}).") from None

    def value(self, t: float) -> float:
        if self.fixed is not None:
            return self.fixed
        return float(np.interp(t, self._t, self._v))
