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
import shlex
import shutil
import site
import subprocess
import sys
import sysconfig

from ember.exceptions import RuntimeEnvSetupError

__all__ = ["base_site_dirs", "install_args", "prepare", "venv_key"]

MARKER = ".ember-complete"
# pip options that uv does not take; harmless to drop (Ray passes them by default).
_PIP_ONLY = {"--disable-pip-version-check", "--no-cache-dir"}


def install_args(spec: dict, key: str) -> list[str]:
    """The install arguments of the dict form: `<key>_install_options` (Ray's
    `pip_install_options` / `uv_pip_install_options`) followed by `packages`."""
    opts = spec.get(f"{key}_install_options") or spec.get(f"{key}_pip_install_options") or []
    if not isinstance(opts, (list, tuple)) or not all(isinstance(o, str) for o in opts):
        raise TypeError(f"runtime_env[{key!r}] install options must be a list of str.")
    return list(opts)


def requirement_lines(lines: list[str]) -> list[str]:
    """Arguments of a requirements file: option lines (`--find-links DIR`) are split."""
    out: list[str] = []
    for ln in lines:
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        out.extend(shlex.split(ln) if ln.startswith("-") else [ln])
    return out


def base_site_dirs() -> list[str]:
    """The driver interpreter's site-packages directories (and user site, if enabled)."""
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def venv_key(args: list[str], tool: str) -> str:
    """The cache key: the install arguments, the tool and the base interpreter."""
    data = json.dumps({"args": args, "tool": tool, "python": sys.executable,
                       "version": sys.version, "sites": base_site_dirs()})
    return hashlib.sha1(data.encode()).hexdigest()[:16]


def prepare(args: list[str], tool: str, root: str) -> str:
    """The python of the venv for these install arguments, built on first use."""
    dest = os.path.join(root, f"{tool}-venv-{venv_key(args, tool)}")
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
        try:
            _create(dest)
            _link_base(dest)
            _install(python, args, tool)
            _check(python, args)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        open(marker, "w").close()
    return python


def _run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise RuntimeEnvSetupError(f"{what} failed: {e}") from None
    if proc.returncode != 0:
        raise RuntimeEnvSetupError(f"{what} failed (exit {proc.returncode}):\n"
                                   f"{(proc.stderr or proc.stdout).strip()[-2000:]}")


def _create(dest: str) -> None:
    uv = shutil.which("uv")
    if uv:
        cmd = [uv, "venv", "--quiet", "--python", sys.executable, dest]
    else:
        cmd = [sys.executable, "-m", "venv", dest]  # with pip (ensurepip) to install
    _run(cmd, f"Creating a virtual environment at {dest}")


def _link_base(dest: str) -> None:
    """Make the driver's packages (ember included) importable after the venv's own."""
    purelib = sysconfig.get_path("purelib", "posix_prefix",
                                 vars={"base": dest, "platbase": dest})
    os.makedirs(purelib, exist_ok=True)
    with open(os.path.join(purelib, "_ember_base_site.pth"), "w") as f:
        f.write(f"import site; list(map(site.addsitedir, {base_site_dirs()!r}))\n")


def _install(python: str, args: list[str], tool: str) -> None:
    uv = shutil.which("uv")
    if uv:
        cmd = [uv, "pip", "install", "--quiet", "--python", python,
               *(a for a in args if a not in _PIP_ONLY)]
    else:
        cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               *args]
    _run(cmd, f"Installing {args} with {tool}")


def _check(python: str, args: list[str]) -> None:
    """Fail at setup, not in a worker, if the packages break ember's own imports."""
    _run([python, "-c", "import ember._core.worker.template"],
         f"Starting ember workers in the environment of {args}")
