"""Where a run's files go: a local folder or any fsspec filesystem.

Checkpoint files are copied file by file (`put_file`/`get_file`), which behaves the same
on every fsspec backend.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

__all__ = ["StorageContext", "download_dir", "is_local", "upload_dir"]


def is_local(fs: Any) -> bool:
    """Whether `fs` is this machine's filesystem."""
    return isinstance(fs, LocalFileSystem)


def upload_dir(local_dir: str, fs: Any, dest: str) -> None:
    """Copy the files under `local_dir` into `dest` on `fs` (merging with what is there)."""
    if is_local(fs):
        shutil.copytree(local_dir, dest, dirs_exist_ok=True)
        return
    fs.makedirs(dest, exist_ok=True)
    for root, _dirs, files in os.walk(local_dir):
        rel = os.path.relpath(root, local_dir)
        target = dest if rel == "." else posixpath.join(dest, *rel.split(os.sep))
        if rel != ".":
            fs.makedirs(target, exist_ok=True)
        for name in files:
            fs.put_file(os.path.join(root, name), posixpath.join(target, name))


def download_dir(fs: Any, src: str, local_dir: str) -> None:
    """Copy the files under `src` on `fs` into `local_dir`."""
    os.makedirs(local_dir, exist_ok=True)
    if is_local(fs):
        shutil.copytree(src, local_dir, dirs_exist_ok=True)
        return
    prefix = src.rstrip("/") + "/"
    for path in fs.find(src):
        rel = path[len(prefix):] if path.startswith(prefix) else posixpath.basename(path)
        target = os.path.join(local_dir, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fs.get_file(path, target)


class StorageContext:
    """A run's folder, `storage_path/name`, on its filesystem."""

    def __init__(self, storage_path: str, name: str, filesystem: Any = None) -> None:
        if filesystem is None:
            filesystem, root = fsspec.core.url_to_fs(storage_path)
        else:
            root = storage_path
        self.filesystem = filesystem
        self.storage_path = storage_path
        self.root = root
        self.name = name
        self.run_path = posixpath.join(root.rstrip("/"), name) if not is_local(filesystem) \
            else os.path.join(root, name)

    @property
    def local(self) -> bool:
        return is_local(self.filesystem)

    def join(self, *parts: str) -> str:
        return (os.path.join if self.local else posixpath.join)(self.run_path, *parts)

    def makedirs(self) -> None:
        self.filesystem.makedirs(self.run_path, exist_ok=True)

    def exists(self, rel: str) -> bool:
        return self.filesystem.exists(self.join(rel))

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write a file atomically where the filesystem allows (local: rename)."""
        path = self.join(rel)
        if self.local:
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            with self.filesystem.open(path, "wb") as f:
                f.write(data)

    def read_bytes(self, rel: str) -> bytes:
        with self.filesystem.open(self.join(rel), "rb") as f:
            return f.read()

    def list_dirs(self, prefix: str) -> list[str]:
        """Names of the entries of the run folder that start with `prefix`."""
        if not self.filesystem.exists(self.run_path):
            return []
        names = [posixpath.basename(p.rstrip("/")) if not self.local else os.path.basename(p)
                 for p in self.filesystem.ls(self.run_path, detail=False)]
        return sorted(n for n in names if n.startswith(prefix))

    def delete(self, path: str) -> None:
        """Remove a folder (absolute path on the filesystem); missing is fine."""
        if self.local:
            shutil.rmtree(path, ignore_errors=True)
        elif self.filesystem.exists(path):
            self.filesystem.rm(path, recursive=True)
