"""The `ember` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ember", description="ember: distributed Python.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the showcase on an embedded one-node cluster")
    demo.add_argument("--num-cpus", type=int, default=None)
    mb = sub.add_parser("microbenchmark", help="core microbenchmarks (Ray's row names)")
    mb.add_argument("--filter", default="", help="only rows whose name contains this")
    mb.add_argument("--duration", type=float, default=2.0, help="seconds per row")
    mb.add_argument("--json", default=None, help="also write results to this JSON file")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ember._demo import run

        return run(num_cpus=args.num_cpus)
    if args.command == "microbenchmark":
        from ember._microbenchmark import run as run_mb

        return run_mb(args.filter, args.duration, args.json)
    if args.command == "version":
        import ember

        print(ember.__version__)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
