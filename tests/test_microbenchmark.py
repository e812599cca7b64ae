"""`ember microbenchmark` runs a row and prints it the way `ray microbenchmark` does."""

from __future__ import annotations

import re
import subprocess
import sys


def test_microbenchmark_single_row():
    out = subprocess.run(
        [sys.executable, "-m", "ember._cli", "microbenchmark",
         "--filter", "single_client_tasks_sync", "--duration", "0.3"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    m = re.search(r"^single_client_tasks_sync per second (\S+) \+- (\S+)$", out.stdout,
                  re.MULTILINE)
    assert m, out.stdout + out.stderr
    assert float(m.group(1)) > 0
    assert "single_client_tasks_async" not in out.stdout
