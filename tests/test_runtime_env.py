"""runtime_env: env_vars, working_dir, py_modules and pip, prepared once and cached."""

from __future__ import annotations

import os
import textwrap

import pytest

import ember
from ember.exceptions import RuntimeEnvSetupError

pytestmark = pytest.mark.usefixtures("cluster")


@ember.remote
def read_env(name):
    return os.environ.get(name)


def test_env_vars_per_task_and_actor():
    env = {"env_vars": {"EMBER_TEST_VAR": "forty-two"}}
    assert ember.get(read_env.options(runtime_env=env).remote("EMBER_TEST_VAR")) == "forty-two"
    assert ember.get(read_env.remote("EMBER_TEST_VAR")) is None  # other workers untouched

    @ember.remote
    class EnvActor:
        def get(self):
            return os.environ.get("EMBER_TEST_VAR")

    a = EnvActor.options(runtime_env={"env_vars": {"EMBER_TEST_VAR": "actor"}}).remote()
    assert ember.get(a.get.remote()) == "actor"


def test_working_dir_is_copied_and_importable(tmp_path):
    wd = tmp_path / "project"
    wd.mkdir()
    (wd / "helper_mod_wd.py").write_text("VALUE = 'from working_dir'\n")
    (wd / "data.txt").write_text("payload")
    (wd / "skip.log").write_text("excluded")

    @ember.remote
    def use():
        import helper_mod_wd

        return helper_mod_wd.VALUE, open("data.txt").read(), os.path.exists("skip.log")

    env = {"working_dir": str(wd), "excludes": ["*.log"]}
    assert ember.get(use.options(runtime_env=env).remote()) == ("from working_dir", "payload",
                                                                 False)


def test_py_modules(tmp_path):
    pkg = tmp_path / "my_pymod_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("def hello():\n    return 'hello from py_modules'\n")

    @ember.remote
    def use():
        import my_pymod_pkg

        return my_pymod_pkg.hello()

    assert ember.get(use.options(runtime_env={"py_modules": [str(pkg)]}).remote()) == \
        "hello from py_modules"


def _local_package(tmp_path, name: str) -> str:
    src = tmp_path / name
    (src / name).mkdir(parents=True)
    (src / name / "__init__.py").write_text("MAGIC = 1234\n")
    (src / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = []
        build-backend = "backend"
        backend-path = ["."]
        [project]
        name = "{name}"
        version = "0.1"
    """))
    # A tiny PEP 517 backend, so building needs nothing from a package index.
    (src / "backend.py").write_text(textwrap.dedent(f"""
        import base64, hashlib, os, zipfile

        def _record(name, data):
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            return f"{{name}},sha256={{digest.decode()}},{{len(data)}}"

        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            fname = "{name}-0.1-py3-none-any.whl"
            files = {{
                "{name}/__init__.py": b"MAGIC = 1234\\n",
                "{name}-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: {name}\\nVersion: 0.1\\n",
                "{name}-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
            }}
            record = [_record(n, d) for n, d in files.items()]
            record.append("{name}-0.1.dist-info/RECORD,,")
            with zipfile.ZipFile(os.path.join(wheel_directory, fname), "w") as z:
                for n, d in files.items():
                    z.writestr(n, d)
                z.writestr("{name}-0.1.dist-info/RECORD", "\\n".join(record) + "\\n")
            return fname

        def get_requires_for_build_wheel(config_settings=None):
            return []
    """))
    return str(src)


def test_pip_installs_into_a_cached_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    name = "ember_rtenv_demo_pkg"
    req = _local_package(tmp_path, name)

    @ember.remote
    def use():
        import ember_rtenv_demo_pkg

        return ember_rtenv_demo_pkg.MAGIC

    # The cache location is read by the node manager, in this process.
    assert ember.get(use.options(runtime_env={"pip": [req]}).remote()) == 1234
    cached = [n for n in os.listdir(tmp_path / "cache" / "ember" / "runtime_env")
              if not n.endswith(".lock")]
    assert len(cached) == 1 and cached[0].startswith("pip-venv-")
    with pytest.raises(ImportError):
        ember.get(use.remote())


def test_failed_pip_install_raises_runtime_env_setup_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    missing = str(tmp_path / "does-not-exist-pkg")
    with pytest.raises(RuntimeEnvSetupError, match="failed"):
        ember.get(read_env.options(runtime_env={"pip": [missing]}).remote("X"))


def test_bad_runtime_env_fails_at_call_site():
    with pytest.raises(ValueError, match="conda"):
        read_env.options(runtime_env={"conda": "env"})
    with pytest.raises(ValueError, match="Unknown runtime_env field"):
        read_env.options(runtime_env={"bogus": 1})
    with pytest.raises(TypeError, match="env_vars"):
        read_env.options(runtime_env={"env_vars": {"A": 1}})
    with pytest.raises(ValueError, match="does not exist"):
        read_env.options(runtime_env={"working_dir": "/no/such/dir"})


def test_typed_runtime_env(shutdown_after):
    from ember.runtime_env import RuntimeEnv, RuntimeEnvConfig

    env = RuntimeEnv(env_vars={"EMBER_TYPED_ENV": "yes"},
                     config=RuntimeEnvConfig(setup_timeout_seconds=60))
    assert env["env_vars"] == {"EMBER_TYPED_ENV": "yes"} and isinstance(env, dict)
    with pytest.raises(ValueError, match="Unknown runtime_env field"):
        RuntimeEnv(not_a_field=1)
    with pytest.raises(ValueError):
        RuntimeEnvConfig(setup_timeout_seconds=0)
    ember.init(num_cpus=1, runtime_env=env)

    @ember.remote
    def read():
        import os

        return os.environ.get("EMBER_TYPED_ENV")

    assert ember.get(read.remote()) == "yes"
