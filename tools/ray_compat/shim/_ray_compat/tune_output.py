"""Stands for `ray.tune.experimental.output`: the keys a Result's repr leaves out, which
Ray's tests import (ember.tune's Result hides the same keys)."""

from __future__ import annotations

from _ray_compat.internal import module_getattr

BLACKLISTED_KEYS = {"config", "date", "done", "hostname", "iterations_since_restore",
                    "node_ip", "pid", "time_since_restore", "timestamp", "trial_id",
                    "experiment_tag", "should_checkpoint", "_report_on"}

__getattr__ = module_getattr("ray.tune.experimental.output")
