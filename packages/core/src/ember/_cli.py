"""The `ember` command line."""

from __future__ import annotations

import argparse
import importlib
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve":  # Serve's own command line (ember-serve)
        try:  # ember-serve is a separate, optional distribution
            serve_cli = importlib.import_module("ember.serve._cli")
        except ModuleNotFoundError:
            print("`ember serve` needs ember-serve: pip install 'ember[serve]'", file=sys.stderr)
            return 2
        return serve_cli.main(argv[1:])
    parser = argparse.ArgumentParser(prog="ember", description="ember: distributed Python.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the showcase on an embedded one-node cluster")
    demo.add_argument("--num-cpus", type=int, default=None)
    mb = sub.add_parser("microbenchmark", help="core microbenchmarks (Ray's row names)")
    mb.add_argument("--filter", default="", help="only rows whose name contains this")
    mb.add_argument("--duration", type=float, default=2.0, help="seconds per row")
    mb.add_argument("--json", default=None, help="also write results to this JSON file")
    sub.add_parser("version", help="print the version")
    st = sub.add_parser("start", help="start a cluster node on this machine")
    st.add_argument("--head", action="store_true", help="start the head node")
    st.add_argument("--address", default=None, help="the head's address (worker nodes)")
    st.add_argument("--port", type=int, default=None, help="control store port (6379)")
    st.add_argument("--host", "--node-ip-address", dest="host", default="127.0.0.1",
                    help="address to bind (default 127.0.0.1: this machine only)")
    st.add_argument("--num-cpus", type=float, default=None)
    st.add_argument("--num-gpus", type=float, default=None)
    st.add_argument("--resources", default=None, help="custom resources as a JSON object")
    st.add_argument("--object-store-memory", type=int, default=None)
    st.add_argument("--labels", default=None,
                    help="node labels for label_selector scheduling: k1=v1,k2=v2")
    st.add_argument("--block", action="store_true", help="run in the foreground")
    st.add_argument("--storage", default=None,
                    help="control store state: an SQLite file path or a redis:// URL")
    st.add_argument("--include-dashboard", type=lambda v: v.lower() in ("1", "true", "yes"),
                    default=None, help="serve the dashboard (default: if installed)")
    st.add_argument("--dashboard-host", default=None, help="default: --host")
    st.add_argument("--dashboard-port", type=int, default=None, help="default 8265")
    st.add_argument("--metrics-export-port", type=int, default=None,
                    help="worker nodes: port of the node's /metrics (default: a free one)")
    st.add_argument("--token-file", default=None,
                    help="the cluster token (worker nodes; or EMBER_CLUSTER_TOKEN)")
    sub.add_parser("stop", help="stop the cluster running on this machine")
    ls = sub.add_parser("list", help="list what the running cluster holds")
    ls.add_argument("kind", choices=["nodes", "actors", "tasks", "objects", "jobs",
                                     "placement-groups", "workers"])
    ls.add_argument("--format", choices=["table", "json"], default="table")
    sm = sub.add_parser("summary", help="summarize tasks of the running cluster")
    sm.add_argument("kind", choices=["tasks"])
    sub.add_parser("memory", help="objects in the running cluster's store, by size")
    tl = sub.add_parser("timeline", help="write a Chrome trace of finished tasks")
    tl.add_argument("--output", default="timeline.json")
    sub.add_parser("status", help="nodes, resources in use, pending demand")
    from ember.job_submission.cli import add_parsers

    add_parsers(sub)
    args = parser.parse_args(argv)
    if args.command in ("job", "logs"):
        from ember.job_submission import cli as job_cli

        return job_cli.job_main(args) if args.command == "job" else job_cli.logs_main(args)
    if args.command == "demo":
        from ember._demo import run

        return run(num_cpus=args.num_cpus)
    if args.command == "microbenchmark":
        from ember._microbenchmark import run as run_mb

        return run_mb(args.filter, args.duration, args.json)
    if args.command in ("start", "stop", "status"):
        from ember._cluster import cli

        return getattr(cli, args.command)(args)
    if args.command in ("list", "summary", "memory", "timeline"):
        from ember._cluster import inspect_cli

        return inspect_cli.COMMANDS[args.command](args)
    if args.command == "version":
        import ember

        print(ember.__version__)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
