"""Per-operator progress lines on the terminal: tasks, rows, blocks and throughput.

Drawn on stderr only when it is a TTY and DataContext.enable_progress_bars is True,
redrawn in place at most a few times a second and cleared when execution ends.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ember.data._stats import OpStats, _count, format_bytes

__all__ = ["ProgressBars", "render_line"]


def render_line(stats: OpStats, total_tasks: int | None, queued: int, active: int,
                width: int = 100) -> str:
    """One operator's line, e.g. `Map(f): 12/40 tasks [##...] 1.2M rows, 8 blocks, 3 MB/s`."""
    done = stats.tasks_done
    bar = ""
    if total_tasks:
        frac = min(1.0, done / total_tasks)
        n = int(frac * 20)
        bar = f" [{'#' * n}{'.' * (20 - n)}] {done}/{total_tasks}"
    else:
        bar = f" {done} tasks"
    wall = stats.wall_s
    rate = f", {_count(stats.rows_out / wall)} rows/s, {format_bytes(stats.bytes_out / wall)}/s" \
        if wall > 0 and stats.rows_out else ""
    text = (f"{stats.name}:{bar} | {_count(stats.rows_out)} rows, {stats.blocks_out} blocks"
            f"{rate} | active {active}, queued {queued}")
    return text if len(text) <= width else text[: width - 1] + "…"


class ProgressBars:
    def __init__(self, enabled: bool, stream: TextIO | None = None,
                 interval_s: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        try:
            tty = self.stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self.enabled = bool(enabled and tty)
        self.interval = interval_s
        self._last = 0.0
        self._lines = 0

    def update(self, ops: list[Any], force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        lines = [render_line(op.stats, op.total_tasks_hint(), op.num_queued(), op.num_active())
                 for op in ops if not op.hidden]
        out = []
        if self._lines:
            out.append(f"\x1b[{self._lines}F")
        for line in lines:
            out.append("\x1b[2K" + line + "\n")
        self._lines = len(lines)
        try:
            self.stream.write("".join(out))
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        if not self.enabled or not self._lines:
            return
        try:
            self.stream.write(f"\x1b[{self._lines}F" + "\x1b[2K\n" * self._lines +
                              f"\x1b[{self._lines}F")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        self._lines = 0
