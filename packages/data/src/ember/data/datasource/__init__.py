"""Reading and writing: the Datasource/Datasink extension points and built-in formats."""

from __future__ import annotations

from ember.data.datasource.base import Datasink, Datasource, ReadTask
from ember.data.datasource.files import (
    BinaryDatasource,
    CSVDatasource,
    FileBasedDatasource,
    ImageDatasource,
    JSONDatasource,
    NumpyDatasource,
    TextDatasource,
)
from ember.data.datasource.parquet import ParquetDatasource
from ember.data.datasource.range import RangeDatasource
from ember.data.datasource.sinks import (
    CSVDatasink,
    FileDatasink,
    JSONDatasink,
    NumpyDatasink,
    ParquetDatasink,
)

__all__ = [
    "BinaryDatasource",
    "CSVDatasink",
    "CSVDatasource",
    "Datasink",
    "Datasource",
    "FileBasedDatasource",
    "FileDatasink",
    "ImageDatasource",
    "JSONDatasink",
    "JSONDatasource",
    "NumpyDatasink",
    "NumpyDatasource",
    "ParquetDatasink",
    "ParquetDatasource",
    "RangeDatasource",
    "ReadTask",
    "TextDatasource",
]
