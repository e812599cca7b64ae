"""What every side-by-side benchmark shares: the environment its runtime subprocesses get
and how their one-line JSON result is read back."""

from __future__ import annotations

import json
import os
import subprocess


def runtime_env(**extra: str) -> dict:
    """The environment for a benchmark subprocess of either runtime.

    Under `uv run`, Ray (2.4x+) would otherwise make every Ray worker `uv run` this project
    (rebuilding it in a runtime env), so that integration is switched off: Ray's workers use
    $RAY_PYTHON as is. Ray's usage reporting is off as well.
    """
    return dict(os.environ, RAY_ENABLE_UV_RUN_RUNTIME_ENV="0", RAY_USAGE_STATS_ENABLED="0",
                **extra)


def result_of(stdout: str, tag: str = "RESULT") -> dict | None:
    """The JSON object a scenario printed on its `RESULT {...}` line, if any."""
    prefix = tag + " "
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return json.loads(line[len(prefix):])
    return None


def run_scenario(python: str, args: list[str], runtime: str, timeout: float,
                 env: dict | None = None, cwd: str | None = None) -> dict:
    """Run `python args...` and return its RESULT object; raise with its output if none."""
    proc = subprocess.run([python, *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else runtime_env(), cwd=cwd)
    res = result_of(proc.stdout)
    if res is not None:
        return res
    raise RuntimeError(f"{runtime} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def emit(table: str, out: str | None) -> None:
    """Print a result table, and write it to `out` when given."""
    print(table)
    if out:
        with open(out, "w") as f:
            f.write(table + "\n")
