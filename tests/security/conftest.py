"""A head node started the way users start one (`ember start --head`), shared by the
attack tests of this folder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from security.attacks import GRPC_LIMIT, HANDSHAKE_TIMEOUT_S, Head, ember_cli


@pytest.fixture(scope="package")
def head(tmp_path_factory) -> Iterator[Head]:
    from ember._cluster.gcs_client import GcsClient

    tmp = tmp_path_factory.mktemp("security")
    env = dict(os.environ, TMPDIR=str(tmp), EMBER_HANDSHAKE_TIMEOUT_S=str(HANDSHAKE_TIMEOUT_S),
               EMBER_GRPC_MAX_MESSAGE_BYTES=str(GRPC_LIMIT))
    env.pop("EMBER_ADDRESS", None)
    env.pop("EMBER_TMPDIR", None)
    out = ember_cli(env, "start", "--head", "--num-cpus", "1", "--port", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    with open(tmp / f"ember-{os.getuid()}" / "current_cluster.json") as f:
        info = json.load(f)
    with open(info["token_file"]) as f:
        token = f.read().strip()
    gcs = GcsClient(info["gcs_address"], token)
    node = next(n for n in gcs.nodes() if n.is_head)
    gcs.close()
    yield Head(env=env, info=info, token=token, pid=int(info["head_pid"]),
               gcs_address=info["gcs_address"], node_address=node.address,
               transfer_address=node.labels["transfer"], node_socket=info["node_socket"])
    ember_cli(env, "stop")


