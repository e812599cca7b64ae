"""Progress reporting: a status table of trials printed every few seconds and at the end."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import IO, Any

from ember.tune.experiment.trial import Trial
from ember.tune.trainable.trainable import AUTO_RESULT_KEYS

__all__ = ["CLIReporter", "ProgressReporter"]

_STATUS_ORDER = [Trial.RUNNING, Trial.PAUSED, Trial.PENDING, Trial.ERROR, Trial.TERMINATED]
_DEFAULT_METRIC_NAMES = {"training_iteration": "iter", "time_total_s": "total time (s)"}
_SKIP_INFER = set(AUTO_RESULT_KEYS) | {"time_this_iter_s", "warmup_time"}


class ProgressReporter:
    """Interface: should_report(trials, done) and report(trials, done, *sys_info)."""

    def setup(self, start_time: float | None = None, total_samples: int | None = None,
              metric: str | None = None, mode: str | None = None, **kwargs: Any) -> None:
        pass

    def should_report(self, trials: list[Trial], done: bool = False) -> bool:
        raise NotImplementedError

    def report(self, trials: list[Trial], done: bool, *sys_info: str) -> None:
        raise NotImplementedError


class CLIReporter(ProgressReporter):
    """Prints a table of trials (name, status, parameters, metrics, iterations) to stdout
    at most every max_report_frequency seconds, and once more when the run ends."""

    def __init__(self, metric_columns: Sequence[str] | Mapping[str, str] | None = None,
                 parameter_columns: Sequence[str] | Mapping[str, str] | None = None,
                 total_samples: int | None = None, max_progress_rows: int = 20,
                 max_error_rows: int = 20, max_column_length: int = 20,
                 max_report_frequency: float = 5, infer_limit: int = 3,
                 print_intermediate_tables: bool | None = None, metric: str | None = None,
                 mode: str | None = None, sort_by_metric: bool = False,
                 out: IO[str] | None = None) -> None:
        self._metric_columns = _as_mapping(metric_columns)
        self._infer_metrics = metric_columns is None
        self._parameter_columns = _as_mapping(parameter_columns)
        self._total_samples = total_samples
        self._max_rows = max_progress_rows
        self._max_error_rows = max_error_rows
        self._max_column_length = max_column_length
        self._frequency = max_report_frequency
        self._infer_limit = infer_limit
        self._intermediate = print_intermediate_tables
        self._metric = metric
        self._mode = mode
        self._sort_by_metric = sort_by_metric
        self._out = out
        self._start = time.time()
        self._last_report = 0.0

    def setup(self, start_time: float | None = None, total_samples: int | None = None,
              metric: str | None = None, mode: str | None = None, **kwargs: Any) -> None:
        self._start = start_time or self._start
        self._total_samples = self._total_samples or total_samples
        self._metric = self._metric or metric
        self._mode = self._mode or mode

    def add_metric_column(self, metric: str, representation: str | None = None) -> None:
        self._infer_metrics = False
        self._metric_columns[metric] = representation or metric

    def add_parameter_column(self, parameter: str, representation: str | None = None) -> None:
        self._parameter_columns[parameter] = representation or parameter

    def should_report(self, trials: list[Trial], done: bool = False) -> bool:
        if done:
            return True
        if self._intermediate is False:
            return False
        return time.time() - self._last_report >= self._frequency

    def report(self, trials: list[Trial], done: bool, *sys_info: str) -> None:
        self._last_report = time.time()
        out = self._out or sys.stdout
        out.write(self.progress_str(trials, done, *sys_info) + "\n")
        out.flush()

    # ----- rendering ------------------------------------------------------------------
    def progress_str(self, trials: list[Trial], done: bool, *sys_info: str) -> str:
        counts = Counter(t.status for t in trials)
        status = " | ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts[s])
        elapsed = time.time() - self._start
        lines = [f"Trial status: {status or 'no trials yet'}",
                 f"Current time: {datetime.now():%Y-%m-%d %H:%M:%S}. "
                 f"Total running time: {_duration(elapsed)}"]
        lines += [s for s in sys_info if s]
        best = self._best(trials)
        if best is not None:
            lines.append(f"Current best trial: {best} with {self._metric}="
                         f"{_fmt(best.last_result.get(self._metric))} and params="
                         f"{_short_params(best)}")
        lines.append(self._table(trials))
        errored = [t for t in trials if t.status == Trial.ERROR or t.num_failures]
        if errored:
            lines.append(self._error_table(errored))
        if done:
            lines.append("")
        return "\n".join(lines)

    def _best(self, trials: list[Trial]) -> Trial | None:
        if not self._metric or not self._mode:
            return None
        scored = [t for t in trials if isinstance(t.last_result.get(self._metric), int | float)]
        if not scored:
            return None
        pick = max if self._mode == "max" else min
        return pick(scored, key=lambda t: t.last_result[self._metric])

    def _columns(self, trials: list[Trial]) -> tuple[dict[str, str], dict[str, str]]:
        params = dict(self._parameter_columns)
        if not params:
            keys: dict[str, None] = {}
            for t in trials:
                for k in t.evaluated_params:
                    keys[k] = None
            params = {k: k for k in keys}
        metrics: dict[str, str] = {}
        if self._metric:
            metrics[self._metric] = self._metric
        metrics.update(self._metric_columns)
        if self._infer_metrics:
            inferred = 0
            for t in trials:
                for k, v in t.last_result.items():
                    if inferred >= self._infer_limit:
                        break
                    if k in metrics or k in _SKIP_INFER or isinstance(v, bool) or \
                            not isinstance(v, int | float):
                        continue
                    metrics[k] = k
                    inferred += 1
                if inferred >= self._infer_limit:
                    break
        for key, name in _DEFAULT_METRIC_NAMES.items():
            metrics.setdefault(key, name)
        return params, metrics

    def _rows_to_show(self, trials: list[Trial]) -> tuple[list[Trial], str]:
        order = {s: i for i, s in enumerate(_STATUS_ORDER)}
        ranked = sorted(trials, key=lambda t: order.get(t.status, 9))
        if self._sort_by_metric and self._metric and self._mode:
            sign = -1 if self._mode == "max" else 1

            def key(t: Trial) -> tuple:
                v = t.last_result.get(self._metric)
                return (order.get(t.status, 9), sign * v if isinstance(v, int | float)
                        else float("inf"))

            ranked = sorted(trials, key=key)
        if len(ranked) <= self._max_rows:
            return ranked, ""
        shown, rest = ranked[:self._max_rows], ranked[self._max_rows:]
        more = Counter(t.status for t in rest)
        summary = ", ".join(f"{n} {s}" for s, n in more.items())
        return shown, f"... {len(rest)} more trials not shown ({summary})"

    def _table(self, trials: list[Trial]) -> str:
        params, metrics = self._columns(trials)
        shown, footer = self._rows_to_show(trials)
        header = ["Trial name", "status", *[_trim(n, self._max_column_length)
                                            for n in params.values()],
                  *[_trim(n, self._max_column_length) for n in metrics.values()]]
        rows = []
        for t in shown:
            rows.append([str(t), t.status,
                         *[_fmt(t.evaluated_params.get(k, _lookup(t.config, k)))
                           for k in params],
                         *[_fmt(t.last_result.get(k)) for k in metrics]])
        table = render_table(header, rows)
        return table + ("\n" + footer if footer else "")

    def _error_table(self, trials: list[Trial]) -> str:
        rows = [[str(t), str(t.num_failures), _error_file(t)]
                for t in trials[:self._max_error_rows]]
        head = f"Number of errored trials: {sum(t.status == Trial.ERROR for t in trials)}"
        return head + "\n" + render_table(["Trial name", "# failures", "error file"], rows)


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """A box-drawn table; numbers right-aligned."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: list[str]) -> str:
        parts = []
        for i, c in enumerate(cells):
            parts.append(c.rjust(widths[i]) if _numeric(c) else c.ljust(widths[i]))
        return "│ " + "   ".join(parts) + " │"

    inner = sum(widths) + 3 * (len(widths) - 1) + 2
    out = ["╭" + "─" * inner + "╮", line(header), "├" + "─" * inner + "┤"]
    out += [line(r) for r in rows]
    out.append("╰" + "─" * inner + "╯")
    return "\n".join(out)


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def _trim(text: str, n: int) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1):]


def _lookup(config: dict, key: str) -> Any:
    value: Any = config
    for part in key.split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _short_params(trial: Trial) -> str:
    return "{" + ", ".join(f"'{k}': {_fmt(v)}" for k, v in trial.evaluated_params.items()) + "}"


def _error_file(trial: Trial) -> str:
    import os

    return os.path.join(trial.path, "error.txt")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}hr {m}min {s}s" if h else f"{m}min {s}s" if m else f"{s}s"


def _as_mapping(columns: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    if columns is None:
        return {}
    if isinstance(columns, Mapping):
        return dict(columns)
    return {c: c for c in columns}
