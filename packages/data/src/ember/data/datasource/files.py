"""File-based sources: CSV, JSON, text, NumPy, binary files and images.

Files are grouped into read tasks balanced by size; each task opens its files through the
resolved pyarrow filesystem (compressed files are detected by extension) and yields
one block per file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from ember.data._arrow_types import to_arrow
from ember.data._metadata import BlockMetadata
from ember.data.datasource._paths import expand_paths
from ember.data.datasource.base import Datasource, ReadTask

__all__ = [
    "BinaryDatasource",
    "CSVDatasource",
    "FileBasedDatasource",
    "ImageDatasource",
    "JSONDatasource",
    "NumpyDatasource",
    "TextDatasource",
]


class FileBasedDatasource(Datasource):
    """Subclasses implement `_read_stream(stream, path)` yielding blocks for one file."""

    _FILE_EXTENSIONS: list[str] | None = None
    _COMPRESSED_OK = True

    def __init__(self, paths: str | list[str], *, filesystem: Any = None,
                 include_paths: bool = False, file_extensions: list[str] | None = None,
                 ignore_missing_paths: bool = False, **reader_args: Any) -> None:
        self._fs, self._files = expand_paths(paths, filesystem,
                                             file_extensions or None, ignore_missing_paths)
        if not self._files and not ignore_missing_paths:
            raise ValueError(f"No input files found under {paths!r}.")
        self._include_paths = include_paths
        self._reader_args = reader_args

    def estimate_inmemory_data_size(self) -> int:
        return sum(s for _, s in self._files)

    def _open(self, path: str) -> Any:
        if self._COMPRESSED_OK:
            return self._fs.open_input_stream(path, compression="detect")
        return self._fs.open_input_stream(path)

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        raise NotImplementedError

    def _read_file(self, path: str) -> Iterator[pa.Table]:
        from ember.data._block import batch_to_block

        with self._open(path) as f:
            for block in self._read_stream(f, path):
                t = batch_to_block(block)
                if self._include_paths:
                    t = t.append_column("path", pa.array([path] * t.num_rows, pa.string()))
                yield t

    def get_read_tasks(self, parallelism: int) -> list[ReadTask]:
        files = self._files
        if not files:
            return []
        parallelism = max(1, min(parallelism, len(files)))
        total = sum(max(s, 1) for _, s in files)
        share = total / parallelism
        groups: list[list[tuple[str, int]]] = [[]]
        acc = 0.0
        for path, size in files:  # contiguous groups of about equal bytes, in file order
            if groups[-1] and acc >= share * len(groups) and len(groups) < parallelism:
                groups.append([])
            groups[-1].append((path, size))
            acc += max(size, 1)
        tasks = []
        for group in groups:
            paths = [p for p, _ in group]
            meta = BlockMetadata(None, sum(s for _, s in group), input_files=paths)

            def read(paths: list[str] = paths) -> Iterator[pa.Table]:
                for p in paths:
                    yield from self._read_file(p)

            tasks.append(ReadTask(read, meta))
        return tasks


class CSVDatasource(FileBasedDatasource):
    def get_name(self) -> str:
        return "CSV"

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        import pyarrow.csv as pacsv

        args = dict(self._reader_args)
        yield pacsv.read_csv(stream, read_options=args.pop("read_options", None),
                             parse_options=args.pop("parse_options", None),
                             convert_options=args.pop("convert_options", None))


class JSONDatasource(FileBasedDatasource):
    """JSON lines via pyarrow; a file holding one JSON array or object also works."""

    def get_name(self) -> str:
        return "JSON"

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        import json

        import pyarrow.json as pajson

        data = stream.read()
        try:
            yield pajson.read_json(io.BytesIO(data),
                                   read_options=self._reader_args.get("read_options"),
                                   parse_options=self._reader_args.get("parse_options"))
            return
        except pa.ArrowInvalid:
            pass
        obj = json.loads(data)
        if isinstance(obj, dict):
            obj = [obj] if not all(isinstance(v, list) for v in obj.values()) else \
                [dict(zip(obj, vals, strict=True)) for vals in zip(*obj.values(), strict=True)]
        from ember.data._block import rows_to_block

        yield rows_to_block(obj)


class TextDatasource(FileBasedDatasource):
    def get_name(self) -> str:
        return "Text"

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        encoding = self._reader_args.get("encoding", "utf-8")
        lines = stream.read().decode(encoding).splitlines()
        if self._reader_args.get("drop_empty_lines", False):
            lines = [line for line in lines if line.strip()]
        yield pa.table({"text": pa.array(lines, pa.string())})


class NumpyDatasource(FileBasedDatasource):
    _COMPRESSED_OK = False

    def get_name(self) -> str:
        return "Numpy"

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        arr = np.load(io.BytesIO(stream.read()), allow_pickle=False)
        if isinstance(arr, np.lib.npyio.NpzFile):
            yield {k: arr[k] for k in arr.files}
        else:
            yield pa.table({"data": to_arrow(arr)})


class BinaryDatasource(FileBasedDatasource):
    _COMPRESSED_OK = False

    def get_name(self) -> str:
        return "BinaryFiles"

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        yield pa.table({"bytes": pa.array([stream.read()], pa.large_binary())})


class ImageDatasource(FileBasedDatasource):
    """One row per image: {"image": HxWxC uint8 ndarray}; needs pillow."""

    _FILE_EXTENSIONS = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif"]
    _COMPRESSED_OK = False

    def get_name(self) -> str:
        return "Image"

    def _read_stream(self, stream: Any, path: str) -> Iterator[Any]:
        try:
            from PIL import Image
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("read_images needs pillow: pip install 'ember-data[images]'") \
                from e
        img = Image.open(io.BytesIO(stream.read()))
        mode = self._reader_args.get("mode")
        if mode is not None:
            img = img.convert(mode)
        size = self._reader_args.get("size")
        if size is not None:
            height, width = size
            img = img.resize((width, height))
        arr = np.asarray(img)
        yield pa.table({"image": to_arrow(arr[np.newaxis])})
