"""Config files (Ray's format) and the `ember serve` command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import yaml

import ember
from ember import serve
from ember.serve._cli import main
from ember.serve._declarative import build_app, deploy_config
from ember.serve.schema import ServeApplicationSchema, ServeDeploySchema

APP_MODULE = textwrap.dedent('''
    from ember import serve

    @serve.deployment(ray_actor_options={"num_cpus": 0})
    class Greeter:
        def __init__(self, greeting="hello"):
            self.greeting = greeting
            self.suffix = ""

        def reconfigure(self, config):
            self.suffix = config.get("suffix", "")

        def __call__(self, request):
            return self.greeting + self.suffix

    app = Greeter.bind()

    def builder(args):
        return Greeter.bind(args.get("greeting", "hi"))
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("apps")
    (d / "greeter_app.py").write_text(APP_MODULE)
    return d


@pytest.fixture(scope="module")
def serve_url(app_dir, serve_starter):
    """Workers import apps by module name, so the app dir goes on the path before init."""
    sys.path.insert(0, str(app_dir))
    ember.init(num_cpus=2)
    yield serve_starter()
    try:
        serve.shutdown()
    finally:
        ember.shutdown()
    sys.path.remove(str(app_dir))


def test_config_schema_validates():
    with pytest.raises(ValueError):
        ServeDeploySchema.model_validate({"applications": [
            {"name": "a", "import_path": "m:a"}, {"name": "a", "import_path": "m:b",
                                                  "route_prefix": "/b"}]})
    with pytest.raises(ValueError):
        ServeApplicationSchema.model_validate({"import_path": "m:a", "route_prefix": "x"})
    with pytest.raises(ValueError):
        ServeApplicationSchema.model_validate({"import_path": "m:a", "unknown": 1})


def test_build_app_applies_overrides_and_builder_args(serve_url):
    app = build_app(ServeApplicationSchema.model_validate({
        "import_path": "greeter_app:builder", "args": {"greeting": "hey"},
        "deployments": [{"name": "Greeter", "num_replicas": 2,
                         "user_config": {"suffix": "!"}}]}))
    assert app.deployment.num_replicas == 2 and app.deployment.user_config == {"suffix": "!"}
    assert app._args == ("hey",)
    with pytest.raises(ValueError, match="Nope"):
        build_app(ServeApplicationSchema.model_validate({
            "import_path": "greeter_app:app", "deployments": [{"name": "Nope"}]}))


def test_deploy_config_is_declarative(serve_url, cleanup_apps):
    deploy_config({"applications": [
        {"name": "one", "route_prefix": "/one", "import_path": "greeter_app:app",
         "deployments": [{"name": "Greeter", "user_config": {"suffix": "?"}}]},
        {"name": "two", "route_prefix": "/two", "import_path": "greeter_app:builder",
         "args": {"greeting": "yo"}},
    ]})
    assert httpx.get(f"{serve_url}/one").text == "hello?"
    assert httpx.get(f"{serve_url}/two").text == "yo"
    deploy_config({"applications": [
        {"name": "two", "route_prefix": "/two", "import_path": "greeter_app:builder",
         "args": {"greeting": "yo"}, "deployments": [{"name": "Greeter", "num_replicas": 2}]},
    ]})
    apps = serve.status().applications
    assert set(apps) == {"two"}
    assert apps["two"].deployments["Greeter"].replica_states == {"RUNNING": 2}


def test_cli_run_status_deploy_shutdown(app_dir, tmp_path, monkeypatch, capsys):
    port, admin_port = _free_port(), _free_port()
    state = tmp_path / "state.json"
    env = {**os.environ, "EMBER_SERVE_STATE": str(state)}
    log = open(tmp_path / "host.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember.serve._cli", "run", "greeter_app:app", "--port",
         str(port), "--admin-port", str(admin_port), "--app-dir", str(app_dir),
         "--num-cpus", "2"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, (tmp_path / "host.log").read_text()
            assert time.monotonic() < deadline, "the host did not start"
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "hello"
        monkeypatch.setenv("EMBER_SERVE_STATE", str(state))
        assert main(["status"]) == 0
        status = yaml.safe_load(capsys.readouterr().out)
        assert status["applications"]["default"]["status"] == "RUNNING"
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({"applications": [
            {"name": "default", "route_prefix": "/", "import_path": "greeter_app:app"},
            {"name": "shout", "route_prefix": "/shout", "import_path": "greeter_app:builder",
             "args": {"greeting": "HEY"}}]}))
        assert main(["deploy", str(config)]) == 0
        assert httpx.get(f"http://127.0.0.1:{port}/shout").text == "HEY"
        monkeypatch.setenv("EMBER_SERVE_TOKEN", "wrong")
        assert main(["status"]) == 1  # the admin API wants the host's token
        monkeypatch.delenv("EMBER_SERVE_TOKEN")
        assert main(["shutdown", "-y"]) == 0
        assert proc.wait(timeout=60) == 0
        assert not state.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_cli_reports_a_missing_host(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("EMBER_SERVE_STATE", str(tmp_path / "none.json"))
    assert main(["status", "--address", f"http://127.0.0.1:{_free_port()}"]) == 1
    assert "No ember Serve host" in capsys.readouterr().err


def test_cli_against_a_running_cluster(app_dir, tmp_path):
    """`--address auto`: deploy, status and shutdown on a cluster from `ember start --head`
    (its own EMBER_TMPDIR, so it cannot meet another cluster on this machine)."""
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="es-")  # short: node sockets live under it
    env = {**os.environ, "EMBER_TMPDIR": root}
    port = _free_port()
    started = subprocess.run([sys.executable, "-m", "ember._cli", "start", "--head", "--port",
                              str(_free_port()), "--num-cpus", "2"], env=env,
                             capture_output=True, text=True, timeout=60)
    if started.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a cluster head: {started.stderr[-500:]}")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "http_options": {"port": port},
        "applications": [{"name": "greet", "route_prefix": "/g",
                          "import_path": "greeter_app:builder", "args": {"greeting": "yo"}}]}))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ember.serve._cli", *args, "--address",
                               "auto"], env=env, cwd=app_dir, capture_output=True, text=True,
                              timeout=120)

    try:
        out = cli("deploy", str(config))
        assert out.returncode == 0, out.stderr[-2000:]
        assert httpx.get(f"http://127.0.0.1:{port}/g", timeout=10).text == "yo"
        out = cli("status")
        assert yaml.safe_load(out.stdout)["applications"]["greet"]["status"] == "RUNNING"
        out = cli("shutdown", "-y")
        assert out.returncode == 0, out.stderr[-2000:]
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/g", timeout=2)
    finally:
        subprocess.run([sys.executable, "-m", "ember._cli", "stop"], env=env,
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
