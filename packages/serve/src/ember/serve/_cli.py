"""`ember serve ...`: run, start, deploy, status and shutdown (Ray's `serve` CLI).

    ember serve run my_module:app          deploy and serve in the foreground (Ctrl-C stops)
    ember serve run config.yaml            the same for every app of a config file
    ember serve run llm_config.yaml        an OpenAI-compatible app for LLM configs
    ember serve start                      Serve with no apps, waiting for deploys
    ember serve deploy config.yaml         deploy a config to the running host
    ember serve status                     applications and deployments, as YAML
    ember serve shutdown -y                stop Serve (the host process exits)

Where Serve runs: `run` and `start` host a local cluster in the foreground, with an admin
API that `deploy`, `status` and `shutdown` reach (see `_admin`). With `--address` naming
a running ember cluster (`auto`, or host:port of `ember start --head`), every command
works on that cluster instead, as Ray's does; `--address http://...` names an admin API.
The core's `ember` command hands `ember serve ...` to `main()` here.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ember serve", description="Serve applications on ember.")
    sub = p.add_subparsers(dest="command", required=True)

    def host_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--host", default=None, help="HTTP host (default 127.0.0.1)")
        sp.add_argument("--port", type=int, default=None, help="HTTP port (default 8000)")
        sp.add_argument("--admin-port", type=int, default=None,
                        help="admin API port on 127.0.0.1 (default 8265)")
        sp.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster")
        sp.add_argument("--app-dir", default=".", help="directory to import apps from")
        sp.add_argument("--address", "-a", default=None,
                        help="a running ember cluster to use (auto or host:port) instead "
                             "of hosting one here")

    run = sub.add_parser("run", help="deploy an app (module:app) or a config file and serve it")
    run.add_argument("target", help="import path 'module:app' or a config .yaml")
    run.add_argument("--name", default="default", help="application name")
    run.add_argument("--route-prefix", default="/", help="route prefix of the application")
    run.add_argument("args", nargs="*", help="key=value arguments for an application builder")
    host_flags(run)
    start = sub.add_parser("start", help="start Serve and wait for deploys")
    host_flags(start)
    for name, text in (("deploy", "deploy a config file to the running host"),
                       ("status", "print the status of Serve's applications"),
                       ("shutdown", "shut Serve down")):
        sp = sub.add_parser(name, help=text)
        if name == "deploy":
            sp.add_argument("config", help="config file (.yaml or .json)")
        if name == "shutdown":
            sp.add_argument("-y", "--yes", action="store_true", help="do not ask")
        sp.add_argument("--address", "-a", default=None,
                        help="an ember cluster (auto or host:port) or a host's admin API "
                             "(http://...); default: the local host's admin API")
    return p


def main(argv: list[str]) -> int:
    """Run `ember serve <argv>`; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command in ("run", "start"):
            return _host(args)
        if args.command == "deploy":
            return _deploy(args)
        if args.command == "status":
            return _status(args)
        return _shutdown(args)
    except (ConnectionError, RuntimeError, ValueError, FileNotFoundError) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1


def _load_config(path: str) -> dict:
    import yaml

    with open(path) as f:
        data = yaml.safe_load(f)  # JSON is YAML too
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a config mapping.")
    from ember.serve.llm._builders import serve_config_from_llm_file
    from ember.serve.schema import ServeDeploySchema

    data = serve_config_from_llm_file(data) or data  # a file of LLM configs
    return ServeDeploySchema.model_validate(data).model_dump(mode="json")


def _is_cluster(address: str | None) -> bool:
    return address is not None and not address.startswith(("http://", "https://"))


def _on_cluster(address: str, fn: Any) -> Any:
    """Run `fn()` as a driver attached to the running cluster at `address`."""
    import ember

    ember.init(address=address)
    try:
        return fn()
    finally:
        ember.shutdown()


def _deploy(args: argparse.Namespace) -> int:
    from ember.serve import _admin

    config = _load_config(args.config)
    if _is_cluster(args.address):
        from ember.serve._declarative import deploy_config

        _on_cluster(args.address, lambda: deploy_config(config, os.getcwd()))
    else:
        _admin.request("PUT", args.address, config)
    print("Sent deploy request successfully.")
    return 0


def _status(args: argparse.Namespace) -> int:
    import yaml

    from ember.serve import _admin

    if _is_cluster(args.address):
        data = _on_cluster(args.address, _admin.status_data)
    else:
        data = _admin.request("GET", args.address)
    data.pop("http_address", None)
    print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())
    return 0


def _shutdown(args: argparse.Namespace) -> int:
    from ember.serve import _admin

    if not args.yes:
        answer = input("This will shut down Serve and every application. Continue? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    if _is_cluster(args.address):
        from ember import serve

        _on_cluster(args.address, serve.shutdown)
    else:
        _admin.request("DELETE", args.address)
    print("Sent shutdown request; the applications will shut down soon.")
    return 0


def _builder_args(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"Application arguments must be key=value, got {pair!r}.")
        out[key] = value
    return out


def _host(args: argparse.Namespace) -> int:
    """Host a cluster with Serve in this process until Ctrl-C, SIGTERM or `shutdown`."""
    import ember
    from ember import serve
    from ember.serve import _admin
    from ember.serve._declarative import deploy_config

    app_dir = os.path.abspath(args.app_dir)
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    config: dict[str, Any] | None = None
    target = getattr(args, "target", None)
    if target is not None and target.endswith((".yaml", ".yml", ".json")):
        config = _load_config(target)
    elif target is not None:
        config = {"applications": [{"name": args.name, "route_prefix": args.route_prefix,
                                    "import_path": target,
                                    "args": _builder_args(args.args)}]}
    http = dict((config or {}).get("http_options") or {})
    if args.host is not None:
        http["host"] = args.host
    if args.port is not None:
        http["port"] = args.port
    if config is not None:
        config["http_options"] = http
    if args.address is not None:
        return _use_cluster(args, http, config, app_dir)
    stop = threading.Event()
    ember.init(num_cpus=args.num_cpus)
    admin = None
    path = _admin.state_path()
    try:
        serve.start(http_options=http)
        if config is not None:
            deploy_config(config, app_dir)
        admin = _admin.AdminServer("127.0.0.1", args.admin_port if args.admin_port is not None
                                   else _admin.DEFAULT_ADMIN_PORT, stop.set, app_dir)
        address = admin.start()
        http_address = _admin.status_data().get("http_address")
        _admin.write_state(path, {"address": address, "token": admin.token,
                                  "pid": os.getpid(), "http_address": http_address})
        print(f"Serve is running: HTTP on {http_address}, admin API on {address}. "
              "Press Ctrl-C to stop.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        if _admin.read_state().get("pid") == os.getpid():
            path.unlink(missing_ok=True)
        if admin is not None:
            admin.stop()
        serve.shutdown()
        ember.shutdown()


def _use_cluster(args: argparse.Namespace, http: dict, config: dict | None,
                 app_dir: str) -> int:
    """`run`/`start` against a running cluster: `start` returns once Serve is up; `run`
    serves until Ctrl-C, then deletes the applications it deployed."""
    import ember
    from ember import serve
    from ember.serve._declarative import deploy_config

    ember.init(address=args.address)
    try:
        serve.start(http_options=http)
        if config is not None:
            deploy_config(config, app_dir, declarative=args.target.endswith(
                (".yaml", ".yml", ".json")))
        if args.command == "start":
            print("Serve is running on the cluster.")
            return 0
        print("Serving on the cluster. Press Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        for app in (config or {}).get("applications", []):
            serve.delete(app["name"])
        return 0
    finally:
        ember.shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
