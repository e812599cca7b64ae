"""Run Ray's own public tests and documentation examples with `ray` resolved to ember.

    uv run python tools/ray_compat/run.py --ray-src RAY_CHECKOUT [--area core] \
        [--files GLOB ...] [--jobs 1] [--timeout 600] [--json out.json] [--markdown out.md]

RAY_CHECKOUT is a checkout of Ray's source, or a bare git directory of one (then files are
read from its HEAD). Each test file runs in a fresh directory, in its own pytest process,
with `tools/ray_compat/shim` first on PYTHONPATH in that process and in every process it
starts, so `import ray` gives ember everywhere, and with our re-implementations of the
fixtures and helpers Ray's tests import. Each documentation example runs as a script.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from areas import (  # noqa: E402
    AREAS,
    DATA_EXCLUDE_WORDS,
    DOCS_EXCLUDE_WORDS,
    OUT_OF_SCOPE,
    OUT_OF_SCOPE_TESTS,
)

HERE = Path(__file__).resolve().parent
SHIM = HERE / "shim"
# Deselects the tests of a file that exercise only Ray's internals (areas.py).
_DESELECT = """
import inspect as _inspect

import pytest as _pytest

_OUT_OF_SCOPE = {names!r}
_AFTER_SHUTDOWN = set()


def _ends_shut_down(item):
    # A test whose own fixture or code ends with ray.shutdown() (a deselected one must
    # still leave the session shut down, or the test after it finds the one before it).
    if any(f == "shutdown_only" or (f.startswith("ray_start") and "shared" not in f)
           for f in item.fixturenames):
        return True
    try:
        return "ray.shutdown()" in _inspect.getsource(item.function)
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config, items):
    gone = [i for i in items if getattr(i, "originalname", i.name) in _OUT_OF_SCOPE]
    if not gone:
        return
    shut = False
    for i in items:
        if i in gone:
            shut = shut or _ends_shut_down(i)
        elif shut:
            _AFTER_SHUTDOWN.add(i.nodeid)
            shut = False
    config.hook.pytest_deselected(items=gone)
    items[:] = [i for i in items if i not in gone]


@_pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.nodeid in _AFTER_SHUTDOWN:
        import ray

        if ray.is_initialized():
            ray.shutdown()
"""
_SIBLING = re.compile(r"^\s*(?:from|import)\s+(ray\.(?:\w+\.)*tests)\.(\w+)", re.M)
# Modules of an example's own directory that it imports or names by import path
# ("module:attr"), as Ray's documentation tests find them beside the example.
_EXAMPLE_SIBLING = re.compile(r"^\s*(?:from|import)\s+(\w+)|[\"'](\w+):\w+[\"']", re.M)


@dataclass
class FileResult:
    path: str
    area: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    out_of_scope: int = 0
    seconds: float = 0.0
    note: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def run(self) -> int:
        return self.passed + self.failed + self.errors


class Source:
    """Files of a Ray checkout, or of a bare git directory's HEAD."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.git = not (self.root / "python" / "ray").is_dir()
        if self.git:
            out = subprocess.run(["git", "--git-dir", str(self.root), "ls-tree", "-r",
                                  "--name-only", "HEAD"], capture_output=True, text=True,
                                 check=True)
            self.names = out.stdout.splitlines()
        else:
            self.names = [str(p.relative_to(self.root)) for p in self.root.rglob("*.py")]

    def read(self, name: str) -> bytes:
        if self.git:
            return subprocess.run(["git", "--git-dir", str(self.root), "show", f"HEAD:{name}"],
                                  capture_output=True, check=True).stdout
        return (self.root / name).read_bytes()

    def exists(self, name: str) -> bool:
        return name in self.names if self.git else (self.root / name).exists()

    def glob(self, pattern: str) -> list[str]:
        return sorted(n for n in self.names if fnmatch.fnmatch(n, pattern))


def select(src: Source, areas: list[str], files: list[str]) -> list[tuple[str, str]]:
    chosen: list[tuple[str, str]] = []
    for area in areas:
        for pattern in AREAS[area]:
            for name in src.glob(pattern):
                if files and not any(fnmatch.fnmatch(name, f"*{f}*") for f in files):
                    continue
                if name.endswith(("conftest.py", "__init__.py")):
                    continue
                chosen.append((area, name))
    return list(dict.fromkeys(chosen))


def out_of_scope(src: Source, area: str, name: str) -> str:
    if name in OUT_OF_SCOPE:
        return OUT_OF_SCOPE[name]
    if area == "data" or (area == "docs" and "/ray-core/" not in name):
        text = src.read(name).decode(errors="replace").lower()
        for word in DATA_EXCLUDE_WORDS if area == "data" else DOCS_EXCLUDE_WORDS:
            if word in text:
                return f"needs {word.rstrip(':/')}"
    return ""


def _env(workdir: Path, extra: dict[str, str]) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SHIM), str(workdir), env.get("PYTHONPATH", "")])
    env["RAY_COMPAT_MODULES"] = json.dumps(extra)
    env.pop("RAY_ADDRESS", None)
    env.pop("EMBER_ADDRESS", None)
    # A session root per file: init("auto") in a test finds that file's cluster, never
    # another program's on the same machine.
    root = workdir / "ember-tmp"
    root.mkdir(mode=0o700, exist_ok=True)
    env["EMBER_TMPDIR"] = str(root)
    return env


def _stage(src: Source, name: str, workdir: Path) -> dict[str, str]:
    """Copy the file (and sibling test modules it imports) into workdir."""
    text = src.read(name)
    (workdir / Path(name).name).write_bytes(text)
    extra: dict[str, str] = {}
    for pkg, mod in _SIBLING.findall(text.decode(errors="replace")):
        sibling = str(Path(name).parent / f"{mod}.py")
        if mod != "conftest" and src.exists(sibling):
            (workdir / f"{mod}.py").write_bytes(src.read(sibling))
            extra[f"{pkg}.{mod}"] = mod
    return extra


def run_tests(src: Source, area: str, name: str, timeout: float,
              test_timeout: float = 60) -> FileResult:
    res = FileResult(name, area)
    workdir = Path(tempfile.mkdtemp(prefix="ray-compat-"))
    try:
        extra = _stage(src, name, workdir)
        fixtures = ["_ray_compat.fixtures"] + (
            ["_ray_compat.serve_fixtures"] if area == "serve" else []) + (
            ["_ray_compat.data_fixtures"] if area == "data" else [])
        internal = OUT_OF_SCOPE_TESTS.get(name, {})
        (workdir / "conftest.py").write_text(
            "".join(f"from {m} import *  # noqa\n" for m in fixtures)
            + (_DESELECT.format(names=sorted(internal)) if internal else ""))
        report = workdir / "report.xml"
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "-p", "no:randomly", f"--timeout={int(test_timeout)}",
                 f"--junitxml={report}", "-o", "junit_family=xunit2", Path(name).name],
                cwd=workdir, env=_env(workdir, extra), capture_output=True, text=True,
                timeout=timeout)
            tail = proc.stdout[-3000:]
        except subprocess.TimeoutExpired:
            res.note = f"timed out after {timeout:.0f}s"
            tail = ""
        res.seconds = time.monotonic() - start
        if report.exists():
            _read_junit(report, res)
            res.out_of_scope = int(m.group(1)) if (
                m := re.search(r"(\d+) deselected", tail)) else 0
        elif not res.note:
            res.note = "no report: " + tail.strip().splitlines()[-1] if tail.strip() else "crashed"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return res


def _read_junit(path: Path, res: FileResult) -> None:
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        kinds = {child.tag for child in case}
        label = f"{case.get('name')}"
        if "skipped" in kinds:
            res.skipped += 1
        elif "failure" in kinds:
            res.failed += 1
            msg = next(_why(c) for c in case if c.tag == "failure")
            res.failures.append(f"{label}: {msg[:200]}")
        elif "error" in kinds:
            res.errors += 1
            msg = next(_why(c) for c in case if c.tag == "error")
            res.failures.append(f"{label}: {msg[:200]}")
        else:
            res.passed += 1


def _why(element: ET.Element) -> str:
    """The message of a failure, or the last line of its text (collection errors)."""
    message = element.get("message", "")
    text = (element.text or "").strip().splitlines()
    if text and (not message or message == "collection failure"):
        return text[-1]
    return message


def run_example(src: Source, area: str, name: str, timeout: float) -> FileResult:
    res = FileResult(name, area)
    workdir = Path(tempfile.mkdtemp(prefix="ray-compat-"))
    try:
        script = workdir / Path(name).name
        text = src.read(name)
        script.write_bytes(text)
        for found in _EXAMPLE_SIBLING.findall(text.decode(errors="replace")):
            mod = found[0] or found[1]
            sibling = str(Path(name).parent / f"{mod}.py")
            if sibling != name and src.exists(sibling):
                (workdir / f"{mod}.py").write_bytes(src.read(sibling))
        start = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, script.name], cwd=workdir,
                                  env=_env(workdir, {}), capture_output=True, text=True,
                                  timeout=timeout)
            ok = proc.returncode == 0
            if not ok:
                lines = (proc.stderr or proc.stdout).strip().splitlines()
                res.failures.append(lines[-1][:300] if lines else f"exit {proc.returncode}")
        except subprocess.TimeoutExpired:
            ok = False
            res.note = f"timed out after {timeout:.0f}s"
        res.seconds = time.monotonic() - start
        res.passed, res.failed = (1, 0) if ok else (0, 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return res


def summarize(results: list[FileResult], skipped: list[tuple[str, str, str]]) -> str:
    lines = ["| area | files run | tests run | passed | failed+errors | pass rate "
             "| tests out of scope |", "|---|---:|---:|---:|---:|---:|---:|"]
    total = FileResult("", "all")
    for area in AREAS:
        rs = [r for r in results if r.area == area]
        if not rs:
            continue
        p = sum(r.passed for r in rs)
        f = sum(r.failed + r.errors for r in rs)
        total.passed += p
        total.failed += f
        rate = f"{100 * p / (p + f):.0f} %" if p + f else "-"
        o = sum(r.out_of_scope for r in rs)
        total.out_of_scope += o
        lines.append(f"| {area} | {len(rs)} | {p + f} | {p} | {f} | {rate} | {o} |")
    p, f = total.passed, total.failed
    if p + f:
        lines.append(f"| **all** | {len(results)} | {p + f} | {p} | {f} | "
                     f"{100 * p / (p + f):.0f} % | {total.out_of_scope} |")
    if skipped:
        lines.append("")
        lines.append("Out of scope (not run):")
        lines += [f"- `{name}` ({area}): {why}" for area, name, why in skipped]
    names = {r.path for r in results}
    internal = [(path, test, why) for path, tests in OUT_OF_SCOPE_TESTS.items()
                if path in names for test, why in tests.items()]
    if internal:
        lines.append("")
        lines.append("Tests out of scope (Ray internals; deselected):")
        lines += [f"- `{Path(path).name}::{test}`: {why}" for path, test, why in internal]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ray-src", required=True, help="Ray checkout or bare git dir")
    ap.add_argument("--area", action="append", choices=sorted(AREAS),
                    help="area(s) to run (default: all)")
    ap.add_argument("--files", nargs="*", default=[], help="substrings of paths to run")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per file")
    ap.add_argument("--test-timeout", type=float, default=60,
                    help="seconds per test (a hung test fails, the file goes on)")
    ap.add_argument("--json", help="write every file's result here")
    ap.add_argument("--markdown", help="write the summary table here")
    a = ap.parse_args()
    src = Source(a.ray_src)
    chosen = select(src, a.area or list(AREAS), a.files)
    runnable, skipped = [], []
    for area, name in chosen:
        why = out_of_scope(src, area, name)
        (skipped.append((area, name, why)) if why else runnable.append((area, name)))

    def one(item: tuple[str, str]) -> FileResult:
        area, name = item
        if area == "docs":
            r = run_example(src, area, name, a.timeout)
        else:
            r = run_tests(src, area, name, a.timeout, a.test_timeout)
        print(f"{r.passed:4d} passed {r.failed + r.errors:4d} failed {r.skipped:3d} skipped "
              f"{r.out_of_scope:3d} out of scope {r.seconds:6.1f}s  {name} {r.note}",
              flush=True)
        return r

    with ThreadPoolExecutor(max(1, a.jobs)) as pool:
        results = list(pool.map(one, runnable))
    table = summarize(results, skipped)
    print()
    print(table)
    if a.json:
        Path(a.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    if a.markdown:
        Path(a.markdown).write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
