"""Driver-side callbacks of a run, and the one-line-per-report progress view."""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

from ember.train.checkpoint import Checkpoint

__all__ = ["RunContext", "UserCallback"]


@dataclasses.dataclass(frozen=True)
class RunContext:
    """What a callback knows about the run."""

    run_name: str
    storage_path: str
    world_size: int


class UserCallback:
    """Subclass and pass in RunConfig(callbacks=[...]); called on the driver, in order."""

    def after_report(self, run_context: RunContext, metrics: list[dict[str, Any]],
                     checkpoint: Checkpoint | None) -> None:
        """After each report: every rank's metrics (rank order) and the stored checkpoint."""

    def after_exception(self, run_context: RunContext,
                        worker_exceptions: dict[int, BaseException]) -> None:
        """After the worker group failed (before a restart, or before fit() raises)."""


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


class ProgressPrinter:
    """One line per report: rank 0's metrics, elapsed time, checkpoints kept.

    verbose 1 prints only when stdout is a terminal; 2 always; 0 never.
    """

    def __init__(self, name: str, verbose: int) -> None:
        self.name = name
        self.enabled = verbose == 2 or (verbose == 1 and sys.stdout.isatty())
        self.start = time.monotonic()

    def report(self, index: int, metrics: dict[str, Any], kept: int) -> None:
        if not self.enabled:
            return
        shown = " ".join(f"{k}={_short(v)}" for k, v in list(metrics.items())[:8])
        print(f"[{self.name}] report {index} | {time.monotonic() - self.start:7.1f}s | "
              f"{shown} | checkpoints kept: {kept}", flush=True)

    def note(self, text: str) -> None:
        if self.enabled:
            print(f"[{self.name}] {text}", flush=True)
