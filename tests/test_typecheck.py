"""The type checker over packages/core is clean.

basedpyright (a dev dependency) runs with the `[tool.basedpyright]` settings of the root
pyproject.toml: basic mode, packages/core/src, generated protobuf modules excluded. The
wheel ships its own Node.js runtime, so the check needs no network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _diagnostic(d: dict) -> str:
    start = d.get("range", {}).get("start", {})
    where = f"{Path(d['file']).relative_to(ROOT)}:{start.get('line', 0) + 1}"
    rule = f" ({d['rule']})" if d.get("rule") else ""
    return f"{where}: {d['message']}{rule}"


def test_core_has_no_type_errors():
    checker = Path(sys.executable).parent / "basedpyright"
    assert checker.exists(), "basedpyright is a dev dependency: run `uv sync`"
    out = subprocess.run([str(checker), "--outputjson"], cwd=ROOT, capture_output=True,
                         text=True, timeout=240)
    report = json.loads(out.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert report["summary"]["filesAnalyzed"] > 50, report["summary"]
    assert not errors, f"{len(errors)} type errors:\n" + "\n".join(map(_diagnostic, errors))
