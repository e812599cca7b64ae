"""Checkpoint: a directory of files that a trial saved, addressed by its path.

Trials hand Tune a directory (`Checkpoint.from_directory`); Tune copies it into the
trial's folder under the experiment's storage path, so the caller may delete its own copy.
Train shares this class through the public `ember.tune` API.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

__all__ = ["Checkpoint"]

_METADATA_FILE = ".metadata.json"


class Checkpoint:
    """A reference to a checkpoint directory (on the local or a shared filesystem)."""

    def __init__(self, path: str | os.PathLike, filesystem: Any = None) -> None:
        self.path = os.fspath(path)
        self.filesystem = filesystem

    @classmethod
    def from_directory(cls, path: str | os.PathLike) -> Checkpoint:
        """A checkpoint for the files in the directory `path`."""
        path = os.path.abspath(os.fspath(path))
        if not os.path.isdir(path):
            raise ValueError(f"Checkpoint.from_directory needs an existing directory, got {path!r}.")
        return cls(path)

    def to_directory(self, path: str | os.PathLike | None = None) -> str:
        """Copy the checkpoint's files into `path` (a new temporary directory if None)."""
        dest = os.fspath(path) if path is not None else tempfile.mkdtemp(prefix="checkpoint_")
        os.makedirs(dest, exist_ok=True)
        if os.path.abspath(dest) != os.path.abspath(self.path):
            shutil.copytree(self.path, dest, dirs_exist_ok=True)
        return dest

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        """Yield a local directory holding the checkpoint's files (the checkpoint itself)."""
        yield self.path

    def get_metadata(self) -> dict[str, Any]:
        """The JSON metadata stored with the checkpoint ({} when there is none)."""
        try:
            with open(os.path.join(self.path, _METADATA_FILE)) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Replace the checkpoint's metadata (must be JSON-serialisable)."""
        with open(os.path.join(self.path, _METADATA_FILE), "w") as f:
            json.dump(metadata, f)

    def update_metadata(self, metadata: dict[str, Any]) -> None:
        """Merge `metadata` into the checkpoint's metadata."""
        merged = self.get_metadata()
        merged.update(metadata)
        self.set_metadata(merged)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Checkpoint) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Checkpoint(filesystem=local, path={self.path})"


def persist_directory(source: str, dest: str) -> Checkpoint:
    """Copy the directory `source` to `dest` (replacing it) and return a Checkpoint there."""
    if os.path.abspath(source) == os.path.abspath(dest):
        return Checkpoint(dest)
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return Checkpoint(dest)
