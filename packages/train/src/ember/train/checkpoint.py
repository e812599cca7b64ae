"""Checkpoint: a directory of files, on the local disk or any fsspec filesystem."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from ember.train.storage import download_dir, is_local

__all__ = ["Checkpoint"]

_METADATA_FILE = ".metadata.json"


class Checkpoint:
    """A reference to a checkpoint directory `path` on `filesystem` (local if None)."""

    def __init__(self, path: str | os.PathLike, filesystem: Any = None) -> None:
        if filesystem is None:
            import fsspec

            filesystem, path = fsspec.core.url_to_fs(os.fspath(path))
        self.path = os.fspath(path)
        self.filesystem = filesystem

    @classmethod
    def from_directory(cls, path: str | os.PathLike) -> Checkpoint:
        """A checkpoint for the local directory `path` (report() copies it to storage)."""
        path = os.path.abspath(os.fspath(path))
        if not os.path.isdir(path):
            raise ValueError(f"Checkpoint.from_directory needs an existing directory, "
                             f"got {path!r}.")
        return cls(path)

    @property
    def local(self) -> bool:
        return is_local(self.filesystem)

    def to_directory(self, path: str | os.PathLike | None = None) -> str:
        """Copy the checkpoint's files into `path` (a new temporary directory if None)."""
        dest = os.fspath(path) if path is not None else tempfile.mkdtemp(prefix="checkpoint_")
        if self.local and os.path.abspath(dest) == os.path.abspath(self.path):
            return dest
        download_dir(self.filesystem, self.path, dest)
        return dest

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        """A local directory holding the files: the checkpoint itself when it is local,
        else a temporary copy removed on exit. Treat it as read-only."""
        if self.local:
            yield self.path
            return
        tmp = self.to_directory()
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def get_metadata(self) -> dict[str, Any]:
        """The JSON metadata stored with the checkpoint ({} when there is none)."""
        meta = f"{self.path.rstrip('/')}/{_METADATA_FILE}"
        if not self.filesystem.exists(meta):
            return {}
        with self.filesystem.open(meta, "r") as f:
            return json.load(f)

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the checkpoint's metadata (must be JSON-serialisable)."""
        with self.filesystem.open(f"{self.path.rstrip('/')}/{_METADATA_FILE}", "w") as f:
            json.dump(metadata, f)

    def update_metadata(self, metadata: dict[str, Any]) -> None:
        """Merge `metadata` into the checkpoint's metadata."""
        merged = self.get_metadata()
        merged.update(metadata)
        self.set_metadata(merged)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Checkpoint) and other.path == self.path and \
            type(other.filesystem) is type(self.filesystem)

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        proto = getattr(self.filesystem, "protocol", "local")
        proto = proto[0] if isinstance(proto, tuple) else proto
        return f"Checkpoint(filesystem={'local' if self.local else proto}, path={self.path})"
