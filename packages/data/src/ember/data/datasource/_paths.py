"""Resolve user paths to a pyarrow FileSystem and a list of files.

Accepts local paths, URIs pyarrow knows (file://, s3://, gs://, hdfs://), any URI an
installed fsspec implementation knows, and an explicit `filesystem=` that is either a
pyarrow.fs.FileSystem or an fsspec AbstractFileSystem (wrapped for pyarrow).
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow.fs as pafs

__all__ = ["expand_paths", "resolve_filesystem"]


def _wrap_fsspec(fs: Any) -> pafs.FileSystem:
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    return PyFileSystem(FSSpecHandler(fs))


def _is_fsspec(fs: Any) -> bool:
    try:
        from fsspec import AbstractFileSystem
    except ImportError:  # pragma: no cover - fsspec is a dependency
        return False
    return isinstance(fs, AbstractFileSystem)


def resolve_filesystem(path: str, filesystem: Any = None) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path within it) for one user path."""
    path = os.fspath(path)
    if filesystem is not None:
        if _is_fsspec(filesystem):
            stripped = filesystem._strip_protocol(path)
            return _wrap_fsspec(filesystem), stripped
        if isinstance(filesystem, pafs.FileSystem):
            if "://" in path:
                path = path.split("://", 1)[1]
                if isinstance(filesystem, pafs.LocalFileSystem):
                    path = "/" + path.lstrip("/")
            return filesystem, path
        raise TypeError("filesystem must be a pyarrow.fs.FileSystem or an fsspec "
                        f"AbstractFileSystem, got {type(filesystem).__name__}.")
    if "://" not in path:
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(path))
    try:
        return pafs.FileSystem.from_uri(path)
    except (ValueError, OSError, TypeError):  # a scheme pyarrow does not know
        import fsspec

        fs, inner = fsspec.core.url_to_fs(path)
        return _wrap_fsspec(fs), inner


def _hidden(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.startswith(".") or base.startswith("_")


def expand_paths(paths: str | list[str], filesystem: Any = None,
                 file_extensions: list[str] | None = None,
                 ignore_missing_paths: bool = False
                 ) -> tuple[pafs.FileSystem, list[tuple[str, int]]]:
    """Every file under the given paths (directories recursively) with its size."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if not paths:
        raise ValueError("Must provide at least one path.")
    fs: pafs.FileSystem | None = None
    files: list[tuple[str, int]] = []
    for p in paths:
        pfs, inner = resolve_filesystem(p, filesystem)
        fs = fs or pfs
        info = pfs.get_file_info(inner)
        if info.type == pafs.FileType.NotFound:
            if ignore_missing_paths:
                continue
            raise FileNotFoundError(f"No such file or directory: {p!r}")
        if info.type == pafs.FileType.Directory:
            sel = pafs.FileSelector(inner, recursive=True)
            found = [(i.path, i.size or 0) for i in pfs.get_file_info(sel)
                     if i.type == pafs.FileType.File
                     and not _hidden(i.path[len(inner):].lstrip("/"))]
            files.extend(sorted(found))
        else:
            files.append((info.path, info.size or 0))
    if file_extensions:
        exts = tuple("." + e.lower().lstrip(".") for e in file_extensions)
        files = [f for f in files if f[0].lower().endswith(exts)]
    if fs is None:
        fs = pafs.LocalFileSystem()
    return fs, files
