"""Errors raised by Tune itself (a trainable's own exceptions keep their types)."""

from __future__ import annotations

__all__ = ["TuneError"]


class TuneError(Exception):
    """Tune could not run the experiment as configured, or a trial failed for Tune's reasons."""
