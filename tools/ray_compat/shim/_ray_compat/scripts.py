"""`ray.scripts.scripts`: the `ray` command's click commands that Ray's tests invoke
in-process with click's CliRunner, each a thin wrapper over the `ember` command."""

from __future__ import annotations

import click

from ember._cli import main as ember_main


@click.command()
@click.option("--address", required=False, type=str, help="the cluster (default: auto)")
@click.option("-v", "--verbose", is_flag=True, default=False)
def status(address: str | None, verbose: bool) -> None:
    """`ray status`: `ember status` of the cluster running on this machine."""
    rc = ember_main(["status"])
    if rc:
        raise SystemExit(rc)
