"""runtime_env pip/uv: each requirement set runs in its own cached venv, on its own
interpreter, so a pinned version of a module the base workers already imported
(cloudpickle here, which ember itself imports) is the one user code sees.

Nothing is downloaded: the pinned "cloudpickle" is a wheel built here from the installed
cloudpickle's source with another version number, installed with --no-index."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import threading
import time
import zipfile

import cloudpickle
import pytest
from procs import is_running

import ember
from ember._core.common import pip_env
from ember.exceptions import RuntimeEnvSetupError

PINNED = "3.0.0"
BASE = cloudpickle.__version__


def _write_wheel(dest: str, name: str, version: str, files: dict[str, bytes],
                 requires: tuple[str, ...] = ()) -> None:
    """A pure-Python wheel of `files` (path in the wheel -> contents)."""
    info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 + "".join(f"Requires-Dist: {r}\n" for r in requires)
                                 ).encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")

    def record(path: str, data: bytes) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        return f"{path},sha256={digest.decode()},{len(data)}"

    lines = [record(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    with zipfile.ZipFile(os.path.join(dest, f"{name}-{version}-py3-none-any.whl"), "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
        z.writestr(f"{info}/RECORD", "\n".join(lines) + "\n")


def _cloudpickle_wheel(dest: str, version: str) -> None:
    """A wheel of the installed cloudpickle's modules, claiming `version`."""
    src = os.path.dirname(cloudpickle.__file__)
    files = {}
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            with open(os.path.join(src, name), "rb") as f:
                data = f.read()
            if name == "__init__.py":
                data = data.replace(f'__version__ = "{BASE}"'.encode(),
                                    f'__version__ = "{version}"'.encode())
            files[f"cloudpickle/{name}"] = data
    _write_wheel(dest, "cloudpickle", version, files)


@pytest.fixture
def pinned_env(tmp_path, monkeypatch, shutdown_after):
    """A runtime_env pinning cloudpickle==3.0.0 from a local wheel; a fresh cache."""
    assert BASE != PINNED
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _cloudpickle_wheel(str(wheels), PINNED)
    return {"pip": {"packages": [f"cloudpickle=={PINNED}"],
                    "pip_install_options": ["--no-index", "--find-links", str(wheels)]}}


def _venvs(tmp_path) -> list[str]:
    root = tmp_path / "cache" / "ember" / "runtime_env"
    return sorted(n for n in os.listdir(root) if not n.endswith(".lock"))


@ember.remote
def version():
    import sys

    import cloudpickle

    return cloudpickle.__version__, sys.executable


@ember.remote
def nested_version():
    return ember.get(version.remote())


@ember.remote
class Versions:
    def version(self):
        import cloudpickle

        return cloudpickle.__version__


def test_pinned_version_runs_in_its_own_interpreter(pinned_env, tmp_path):
    ember.init(num_cpus=2, _system_config={"preload_python_modules": ["colorsys"]})
    assert "cloudpickle" in sys.modules  # the base workers have it imported too
    pinned, python = ember.get(version.options(runtime_env=pinned_env).remote())
    assert pinned == PINNED
    (venv,) = _venvs(tmp_path)
    assert python.startswith(str(tmp_path / "cache" / "ember" / "runtime_env" / venv))
    # The same session, no runtime_env: the base version on the base interpreter.
    assert ember.get(version.remote()) == (BASE, sys.executable)
    # A task started from the environment inherits it (as in Ray).
    assert ember.get(nested_version.options(runtime_env=pinned_env).remote())[0] == PINNED
    actor = Versions.options(runtime_env=pinned_env).remote()
    assert ember.get(actor.version.remote()) == PINNED
    assert ember.get(Versions.remote().version.remote()) == BASE
    # The environment's template imported the modules to preload, as the main one does.
    assert ember.get(preloaded.options(runtime_env=pinned_env).remote("colorsys"))


@ember.remote
def preloaded(name):
    import sys

    return name in sys.modules


def test_venv_is_reused_by_a_later_session(pinned_env, tmp_path):
    ember.init(num_cpus=1)
    assert ember.get(version.options(runtime_env=pinned_env).remote())[0] == PINNED
    ember.shutdown()
    (venv,) = _venvs(tmp_path)
    sentinel = tmp_path / "cache" / "ember" / "runtime_env" / venv / "sentinel"
    sentinel.write_text("kept")  # a rebuild would remove it
    ember.init(num_cpus=1)
    assert ember.get(version.options(runtime_env=pinned_env).remote())[0] == PINNED
    assert _venvs(tmp_path) == [venv] and sentinel.exists()


def test_dependencies_the_base_has_are_not_installed_again(pinned_env, tmp_path):
    """As pip in a venv on top of the base: a dependency the base satisfies (numpy here,
    offline) is used from the base, only the missing package goes into the venv."""
    import numpy

    wheels = pinned_env["pip"]["pip_install_options"][-1]
    _write_wheel(wheels, "ember_np_user", "0.1",
                 {"ember_np_user/__init__.py": b"import numpy\nFILE = numpy.__file__\n"},
                 requires=("numpy",))
    env = {"pip": dict(pinned_env["pip"], packages=["ember_np_user", f"cloudpickle=={PINNED}"])}

    @ember.remote
    def where():
        import cloudpickle
        import ember_np_user

        return ember_np_user.FILE, cloudpickle.__version__

    ember.init(num_cpus=1)
    assert ember.get(where.options(runtime_env=env).remote()) == (numpy.__file__, PINNED)


def test_failed_install_is_a_runtime_env_setup_error(pinned_env):
    ember.init(num_cpus=1)
    env = {"pip": dict(pinned_env["pip"], packages=["cloudpickle==9.9.9"])}
    with pytest.raises(RuntimeEnvSetupError, match=r"cloudpickle==9\.9\.9"):
        ember.get(version.options(runtime_env=env).remote())
    # The session goes on; the base environment is untouched.
    assert ember.get(version.remote())[0] == BASE


def test_setup_timeout_stops_a_slow_install(pinned_env, tmp_path):
    """`config.setup_timeout_seconds` bounds the install; the installer's processes go."""
    src = tmp_path / "slowpkg"
    src.mkdir()
    pidfile = tmp_path / "backend.pid"
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "slowpkg"\nversion = "0.1"\n')
    (src / "backend.py").write_text(
        f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n")
    env = {"pip": [str(src)], "config": {"setup_timeout_seconds": 2}}
    ember.init(num_cpus=1)
    with pytest.raises(RuntimeEnvSetupError, match="setup_timeout_seconds"):
        ember.get(version.options(runtime_env=env).remote(), timeout=60)
    pid = int(pidfile.read_text())  # the build had started: it goes with the installer
    deadline = time.monotonic() + 10
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not is_running(pid)


def test_concurrent_builds_share_one_complete_venv(pinned_env, tmp_path):
    opts = pinned_env["pip"]["pip_install_options"]
    root = str(tmp_path / "cache" / "ember" / "runtime_env")
    out: list[str] = []

    def build() -> None:
        out.append(pip_env.prepare([f"cloudpickle=={PINNED}"], opts, "pip", root))

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 3 and len(set(out)) == 1
    assert _venvs(tmp_path) == [os.path.basename(os.path.dirname(os.path.dirname(out[0])))]
    assert os.path.exists(os.path.join(os.path.dirname(os.path.dirname(out[0])),
                                       pip_env.MARKER))


def _env_templates(python_prefix: str) -> list[int]:
    """Pids of this process's template children running an environment's python."""
    out = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if (int(fields[1]) == os.getpid() and b"ember._core.worker.template" in cmd
                and cmd[0].decode().startswith(python_prefix)):
            out.append(int(pid))
    return out


def test_a_dead_environment_template_is_started_again(pinned_env, tmp_path):
    import signal

    ember.init(num_cpus=1)
    _, python = ember.get(version.options(runtime_env=pinned_env).remote())
    prefix = os.path.dirname(os.path.dirname(python))
    (template,) = _env_templates(prefix)
    os.kill(template, signal.SIGKILL)
    while is_running(template):  # its workers go with it (parent-death signal)
        time.sleep(0.01)
    assert ember.get(version.options(runtime_env=pinned_env).remote())[0] == PINNED
    assert len(_env_templates(prefix)) == 1


def test_environment_on_another_node(pinned_env, shutdown_after):
    """Work placed on a second node prepares the environment there (tasks and actors)."""
    from ember.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "labels": {"n": "a"}})
    try:
        c.add_node(num_cpus=1, labels={"n": "b"})
        c.connect()
        there = {"runtime_env": pinned_env, "label_selector": {"n": "b"}}
        assert ember.get(version.options(**there).remote())[0] == PINNED
        assert ember.get(Versions.options(**there).remote().version.remote()) == PINNED
        assert ember.get(version.options(label_selector={"n": "b"}).remote())[0] == BASE
    finally:
        ember.shutdown()
        c.shutdown()
