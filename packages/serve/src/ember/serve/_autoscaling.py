"""The default autoscaling policy: replicas in proportion to ongoing requests.

desired = ceil(current * (1 + (ongoing / (target * current) - 1) * factor)), clamped to
[min_replicas, max_replicas]; a decision must hold for the up/downscale delay first.
A custom policy's answer gets the same factors, bounds and delays (`scaled`).
"""

from __future__ import annotations

import math

from ember.serve.config import AutoscalingConfig


def desired_replicas(cfg: AutoscalingConfig, total_ongoing: float, current: int) -> int:
    """The replica count the load asks for, before delays."""
    if current == 0:
        return max(cfg.min_replicas, 1) if total_ongoing > 0 else cfg.min_replicas
    error = total_ongoing / (cfg.target_ongoing_requests * current)
    factor = cfg.get_upscaling_factor() if error >= 1 else cfg.get_downscaling_factor()
    smoothed = 1 + (error - 1) * factor
    desired = math.ceil(current * smoothed - 1e-9)
    if error == 0 and desired == current:
        desired -= 1
    return max(cfg.min_replicas, min(cfg.max_replicas, desired))


def scaled(cfg: AutoscalingConfig, desired: float, current: int) -> int:
    """A custom policy's replica count with the config's factors and bounds (Ray's)."""
    if current == 0:
        out = math.ceil(desired)
    else:
        delta = desired - current
        factor = cfg.get_upscaling_factor() if delta > 0 else cfg.get_downscaling_factor()
        out = math.ceil(current + factor * delta - 1e-9)
        if math.ceil(desired) < current and out == current:
            out -= 1
    return max(cfg.min_replicas, min(cfg.max_replicas, out))


class AutoscalingState:
    """Applies the up/downscale delays to a stream of decisions."""

    def __init__(self, cfg: AutoscalingConfig) -> None:
        self.cfg = cfg
        self._up_since: float | None = None
        self._down_since: float | None = None

    def decide(self, total_ongoing: float, current: int, now: float) -> int:
        """The new target (or `current` while a decision waits out its delay)."""
        return self.delayed(desired_replicas(self.cfg, total_ongoing, current), current, now)

    def delayed(self, desired: int, current: int, now: float) -> int:
        """`desired` once it has held for its delay, else `current`."""
        cfg = self.cfg
        if desired > current:
            self._down_since = None
            if current == 0:
                self._up_since = None
                return desired  # scaling from zero does not wait
            if self._up_since is None:
                self._up_since = now
            if now - self._up_since >= cfg.upscale_delay_s:
                self._up_since = None
                return desired
        elif desired < current:
            self._up_since = None
            if self._down_since is None:
                self._down_since = now
            delay = cfg.downscale_delay_s
            if desired == 0 and cfg.downscale_to_zero_delay_s is not None:
                delay = cfg.downscale_to_zero_delay_s
            if now - self._down_since >= delay:
                self._down_since = None
                return desired
        else:
            self._up_since = self._down_since = None
        return current
