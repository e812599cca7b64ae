"""Regenerate the *_pb2 modules from the .proto files beside this script.

Run with the dev tools installed: `uv run python -m ember._cluster.protos.generate`.
A test checks that the committed modules match the .proto sources.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[2]  # the directory that holds the `ember` package


def protos() -> list[Path]:
    return sorted(HERE.glob("*.proto"))


def generate(out_dir: Path) -> None:
    from grpc_tools import protoc

    for proto in protos():
        rel = proto.relative_to(SRC)
        args = ["protoc", f"-I{SRC}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
                f"--grpc_python_out={out_dir}", str(rel)]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed for {rel}")


if __name__ == "__main__":
    generate(SRC)
    sys.exit(0)
