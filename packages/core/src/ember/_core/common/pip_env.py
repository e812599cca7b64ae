"""pip/uv runtime environments: one cached virtual environment per requirement set.

Each requirement set gets its own venv (`uv venv`, or `python -m venv` without uv) made
from the driver's interpreter, with the requirements installed into it. A `.pth` file in
the venv's site-packages appends the driver's site-packages directories after the venv's
own, so ember and the base packages stay importable while a pinned package of the venv
shadows the base one. Workers of the environment are started from the venv's python (a
template process of their own), so a version the base template already imported never
leaks into them.

A venv is built under a file lock, so concurrent sessions build it once, and counts as
ready only once the `.ember-complete` marker exists (written after the install and an
import check of ember succeeded); a half-built directory is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import time
from typing import Any

from ember.exceptions import RuntimeEnvSetupError

__all__ = ["base_site_dirs", "normalize", "options_key", "prepare", "venv_key"]

MARKER = ".ember-complete"
# pip options that uv does not take; harmless to drop (Ray passes them by default).
_PIP_ONLY = {"--disable-pip-version-check", "--no-cache-dir"}


def options_key(key: str) -> str:
    """The dict form's install-options field: Ray's `pip_install_options` /
    `uv_pip_install_options`."""
    return "pip_install_options" if key == "pip" else "uv_pip_install_options"


def normalize(spec: Any, key: str) -> dict:
    """`{"packages": [...]}` (and the install options, if any) from the list, the
    requirements file or the dict form."""
    opts: list[str] = []
    if isinstance(spec, dict):
        opts = spec.get(options_key(key)) or []
        if not isinstance(opts, (list, tuple)) or not all(isinstance(o, str) for o in opts):
            raise TypeError(f"runtime_env[{key!r}][{options_key(key)!r}] must be a list "
                            "of str.")
        opts = list(opts)
        spec = spec.get("packages", [])
    if isinstance(spec, str) and os.path.exists(spec):
        with open(spec) as f:
            more, spec = _requirement_lines(f.readlines())
        opts += more
    elif isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, (list, tuple)) or not all(isinstance(s, str) for s in spec):
        raise TypeError(f"runtime_env[{key!r}] must be a list of requirements, a "
                        "requirements file path or a dict with 'packages'.")
    out: dict = {"packages": list(spec)}
    if opts:
        out[options_key(key)] = opts
    return out


def _requirement_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """(options, requirements) of a requirements file; option lines
    (`--find-links DIR`) are split into arguments."""
    opts: list[str] = []
    reqs: list[str] = []
    for ln in lines:
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        if ln.startswith("-"):
            opts.extend(shlex.split(ln))
        else:
            reqs.append(ln)
    return opts, reqs


def base_site_dirs() -> list[str]:
    """The driver interpreter's site-packages directories (and user site, if enabled)."""
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def venv_key(reqs: list[str], opts: list[str], tool: str) -> str:
    """The cache key: the requirements and options, the tool and the base interpreter."""
    data = json.dumps({"reqs": reqs, "opts": opts, "tool": tool, "python": sys.executable,
                       "version": sys.version, "sites": base_site_dirs()})
    return hashlib.sha1(data.encode()).hexdigest()[:16]


def prepare(reqs: list[str], opts: list[str], tool: str, root: str,
            timeout: float | None = None) -> str:
    """The python of the venv for these requirements, built on first use within
    `timeout` seconds (None: no limit)."""
    dest = os.path.join(root, f"{tool}-venv-{venv_key(reqs, opts, tool)}")
    python = os.path.join(dest, "bin", "python")
    marker = os.path.join(dest, MARKER)
    if os.path.exists(marker):
        return python
    os.makedirs(root, exist_ok=True)
    with open(dest + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session or thread may be building it
        if os.path.exists(marker):
            return python
        shutil.rmtree(dest, ignore_errors=True)
        steps = _Steps(None if timeout is None else time.monotonic() + timeout, timeout)
        try:
            steps.create(dest)
            _link_base(dest)
            steps.install(python, reqs, opts, tool)
            steps.check(python, reqs)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        open(marker, "w").close()
    return python


class _TimedOut(RuntimeEnvSetupError):
    pass


class _Steps:
    """The commands of one build, all within one deadline."""

    def __init__(self, deadline: float | None, timeout: float | None) -> None:
        self.deadline = deadline
        self.timeout = timeout

    def exec(self, cmd: list[str], what: str) -> subprocess.CompletedProcess:
        left = None if self.deadline is None else max(self.deadline - time.monotonic(), 0.01)
        try:
            # A session of its own, so a timeout takes the installer's children too.
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
        except OSError as e:
            raise RuntimeEnvSetupError(f"{what} failed: {e}") from None
        try:
            out, err = proc.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise _TimedOut(f"{what} timed out: the runtime_env's setup_timeout_seconds "
                            f"({self.timeout:g}) passed.") from None
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    def run(self, cmd: list[str], what: str) -> None:
        proc = self.exec(cmd, what)
        if proc.returncode != 0:
            raise RuntimeEnvSetupError(f"{what} failed (exit {proc.returncode}):\n"
                                       f"{(proc.stderr or proc.stdout).strip()[-2000:]}")

    def create(self, dest: str) -> None:
        uv = shutil.which("uv")
        if uv:
            cmd = [uv, "venv", "--quiet", "--python", sys.executable, dest]
        else:
            cmd = [sys.executable, "-m", "venv", dest]  # with pip (ensurepip) to install
        self.run(cmd, f"Creating a virtual environment at {dest}")

    def install(self, python: str, reqs: list[str], opts: list[str], tool: str) -> None:
        """Install into the venv what installing `reqs` into the driver's environment
        would add or change (as pip in a venv on top of the base would): the base's
        packages that satisfy a requirement are used, not installed again. Without uv,
        the venv's pip sees the base packages itself."""
        what = f"Installing {reqs} with {tool}"
        uv = shutil.which("uv")
        if not uv:
            self.run([python, "-m", "pip", "install", "--quiet",
                      "--disable-pip-version-check", *opts, *reqs], what)
            return
        opts = [o for o in opts if o not in _PIP_ONLY]
        cmd = [uv, "pip", "install", "--quiet", "--python", python, *opts]
        pins = self.changes(uv, reqs, opts, what)
        if pins == []:
            return  # the base environment satisfies every requirement
        if pins is not None:
            try:
                self.run([*cmd, "--no-deps", *pins], what)
                return
            except _TimedOut:
                raise
            except RuntimeEnvSetupError:
                pass  # a pin its source could not give: resolve the whole set in the venv
        self.run([*cmd, *reqs], what)

    def changes(self, uv: str, reqs: list[str], opts: list[str],
                what: str) -> list[str] | None:
        """The packages (`name==version` or `name @ url`) that installing `reqs` into
        the driver's environment would add or change, by uv's dry run; None if it
        cannot tell."""
        proc = self.exec([uv, "pip", "install", "--dry-run", "--python", sys.executable,
                          *opts, *reqs], what)
        if proc.returncode != 0:
            return None
        out = proc.stderr + proc.stdout
        pins = re.findall(r"^ \+ (\S+ @ \S+|\S+==\S+)", out, re.M)
        if not pins and "Would install" in out:
            return None
        return pins

    def check(self, python: str, reqs: list[str]) -> None:
        """Fail at setup, not in a worker, if the packages break ember's own imports."""
        self.run([python, "-c", "import ember._core.worker.template"],
                 f"Starting ember workers in the environment of {reqs}")


def _link_base(dest: str) -> None:
    """Make the driver's packages (ember included) importable after the venv's own."""
    purelib = sysconfig.get_path("purelib", "posix_prefix",
                                 vars={"base": dest, "platbase": dest})
    os.makedirs(purelib, exist_ok=True)
    with open(os.path.join(purelib, "_ember_base_site.pth"), "w") as f:
        f.write(f"import site; list(map(site.addsitedir, {base_site_dirs()!r}))\n")
