"""runtime_env: per-task/actor environments, prepared once per session and cached.

Supported: env_vars, working_dir and py_modules (local directories, .zip files or module
objects, copied into the session so later edits do not leak into running jobs), excludes,
pip and uv (one cached virtual environment per requirement set, whose workers run on its
own interpreter: see pip_env), config. conda and containers are refused with a clear error.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Callable
from typing import Any

from ember._core.common import pip_env
from ember.exceptions import RuntimeEnvSetupError

SUPPORTED = {"env_vars", "working_dir", "py_modules", "excludes", "pip", "uv", "config"}
UNSUPPORTED = {"conda": "conda environments", "container": "containers",
               "image_uri": "container images", "java_jars": "Java jars"}


def validate(runtime_env: dict | None) -> dict | None:
    """Check a runtime_env at the call site; returns a normalized, picklable copy."""
    if runtime_env is None:
        return None
    if not isinstance(runtime_env, dict):
        raise TypeError(f"runtime_env must be a dict, got {type(runtime_env).__name__}.")
    env = dict(runtime_env)
    for key in env:
        if key in UNSUPPORTED:
            raise ValueError(f"runtime_env[{key!r}] ({UNSUPPORTED[key]}) is not supported by "
                             "ember; use pip or uv for packages.")
        if key not in SUPPORTED:
            raise ValueError(f"Unknown runtime_env field {key!r}; supported fields are "
                             f"{sorted(SUPPORTED)}.")
    ev = env.get("env_vars")
    if ev is not None:
        if not isinstance(ev, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in ev.items()):
            raise TypeError("runtime_env['env_vars'] must be a dict of str to str.")
    wd = env.get("working_dir")
    if wd is not None:
        wd = os.path.abspath(os.fspath(wd))
        if not os.path.exists(wd):
            raise ValueError(f"runtime_env working_dir {wd!r} does not exist.")
        env["working_dir"] = wd
    mods = env.get("py_modules")
    if mods is not None:
        paths = []
        for m in mods:
            if hasattr(m, "__file__"):
                path = os.path.dirname(m.__file__) if m.__file__.endswith("__init__.py") \
                    else m.__file__
            else:
                path = os.path.abspath(os.fspath(m))
            if not os.path.exists(path):
                raise ValueError(f"runtime_env py_modules entry {m!r} does not exist.")
            paths.append(path)
        env["py_modules"] = paths
    for key in ("pip", "uv"):
        if key in env:
            env[key] = pip_env.normalize(env[key], key)
    return env or None


def env_key(env: dict | None) -> str:
    if not env:
        return ""
    data = json.dumps(env, sort_keys=True, default=str).encode()
    return hashlib.sha1(data).hexdigest()[:16]


def cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ember", "runtime_env")


class EnvCache:
    """Prepared environments of this session, by key; preparation runs off the IO thread."""

    def __init__(self, session_dir: str) -> None:
        self.root = os.path.join(session_dir, "runtime_resources")
        self.specs: dict[str, dict] = {"": {}}
        self.setups: dict[str, dict] = {"": {}}
        self.errors: dict[str, BaseException] = {}
        self.waiting: dict[str, list[Callable[[], None]]] = {}
        self._threads: list[threading.Thread] = []

    def register(self, env: dict | None) -> str:
        key = env_key(env)
        if key not in self.specs:
            self.specs[key] = env or {}
            if not any(k in (env or {}) for k in ("working_dir", "py_modules", "pip", "uv")):
                self.setups[key] = {"env_vars": (env or {}).get("env_vars") or {},
                                    "runtime_env": env}
        return key

    def ready(self, key: str, on_ready: Callable[[], None] | None) -> bool:
        if key in self.setups or key in self.errors:
            return True
        if on_ready is None:
            return False
        cbs = self.waiting.get(key)
        if cbs is None:
            self.waiting[key] = [on_ready]
            t = threading.Thread(target=self._prepare, args=(key,), daemon=True,
                                 name="ember-runtime-env")
            self._threads.append(t)
            t.start()
        else:
            cbs.append(on_ready)
        return False

    def error(self, key: str) -> BaseException | None:
        return self.errors.get(key)

    def setup_for(self, key: str) -> dict:
        return self.setups.get(key, {})

    def _prepare(self, key: str) -> None:
        try:
            self.setups[key] = _build(self.specs[key], os.path.join(self.root, key))
        except BaseException as e:  # noqa: BLE001 - reported to every waiting task
            self.errors[key] = e if isinstance(e, RuntimeEnvSetupError) else \
                RuntimeEnvSetupError(f"Failed to set up runtime_env: {e}")
        for cb in self.waiting.pop(key, []):
            cb()

    def close(self) -> None:
        for t in self._threads:
            t.join(timeout=0.1)


def _build(env: dict, dest: str) -> dict:
    os.makedirs(dest, exist_ok=True)
    # The env itself goes along so that tasks and actors the worker starts inherit it.
    setup: dict[str, Any] = {"env_vars": env.get("env_vars") or {}, "sys_path": [],
                             "runtime_env": env}
    excludes = env.get("excludes") or []
    wd = env.get("working_dir")
    if wd:
        target = os.path.join(dest, "working_dir")
        _copy(wd, target, excludes)
        setup["cwd"] = target
        setup["sys_path"].append(target)
    for i, mod in enumerate(env.get("py_modules") or []):
        target = os.path.join(dest, f"py_modules_{i}")
        os.makedirs(target, exist_ok=True)
        if mod.endswith((".zip", ".whl")):
            _copy(mod, target, excludes)
        elif os.path.isdir(mod):
            _copy(mod, os.path.join(target, os.path.basename(mod.rstrip("/"))), excludes)
        else:
            shutil.copy2(mod, target)
        setup["sys_path"].append(target)
    specs = {k: env[k] for k in ("uv", "pip") if env.get(k)}
    reqs = [r for s in specs.values() for r in s["packages"]]
    if reqs:  # workers of this environment start from its venv's interpreter
        opts = [o for k, s in specs.items() for o in s.get(pip_env.options_key(k), [])]
        limit = (env.get("config") or {}).get("setup_timeout_seconds", 600)
        setup["python"] = pip_env.prepare(reqs, opts, "uv" if "uv" in specs else "pip",
                                          cache_root(), None if limit == -1 else limit)
    return setup


def _copy(src: str, dst: str, excludes: list[str]) -> None:
    if zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as z:
            z.extractall(dst)
        return

    def ignore(_d: str, names: list[str]) -> set[str]:
        return {n for n in names for pat in excludes if fnmatch.fnmatch(n, pat.strip("/"))}

    shutil.copytree(src, dst, ignore=ignore, dirs_exist_ok=True)
