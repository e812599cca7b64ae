"""The tree stays lint-clean (ruff, configured once in the root pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    paths = [p for p in ("packages", "tests", "benchmarks") if (ROOT / p).exists()]
    out = subprocess.run([ruff, "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_module_is_oversized():
    """Modules past ~800 lines get split by responsibility (the style guide)."""
    big = [str(p.relative_to(ROOT)) for p in ROOT.glob("packages/*/src/**/*.py")
           if "_pb2" not in p.name and sum(1 for _ in p.open()) > 800]
    assert not big, big
