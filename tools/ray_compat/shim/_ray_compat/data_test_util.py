"""Ray Data's test helpers (`ray.data.tests.util`) and the few Ray Data internal
utilities its tests import (`ray.data._internal.util`, `...utils.arrow_utils`, the join
type enum), re-implemented over public libraries; any other name is a stand-in."""

from __future__ import annotations

import functools
import os
import tempfile
from contextlib import contextmanager
from enum import Enum
from typing import Any

import pandas as pd
import pyarrow as pa
import ray
from packaging.version import parse as parse_version

from _ray_compat.internal import module_getattr

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


class JoinType(Enum):
    INNER = "inner"
    LEFT_OUTER = "left_outer"
    RIGHT_OUTER = "right_outer"
    FULL_OUTER = "full_outer"
    LEFT_SEMI = "left_semi"
    RIGHT_SEMI = "right_semi"
    LEFT_ANTI = "left_anti"
    RIGHT_ANTI = "right_anti"


# The first pyarrow with type promotion in concat_tables (ray.data's transform_pyarrow).
MIN_PYARROW_VERSION_TYPE_PROMOTION = parse_version("14.0.0")


def get_pyarrow_version() -> Any:
    return parse_version(pa.__version__)


def _sortable(x: Any) -> Any:
    if isinstance(x, list | tuple) or hasattr(x, "tolist"):
        return tuple(_sortable(i) for i in (x.tolist() if hasattr(x, "tolist") else x))
    if isinstance(x, dict):
        return tuple(sorted((k, _sortable(v)) for k, v in x.items()))
    return x


def rows_same(actual: pd.DataFrame, expected: pd.DataFrame) -> bool:
    """Whether two frames hold the same rows, whatever their order and index."""
    if len(actual) != len(expected):
        return False
    if len(actual) == 0:
        return True

    def ordered(df: pd.DataFrame) -> pd.DataFrame:
        df = df[sorted(df.columns)].copy()
        keys = df.apply(lambda row: repr(tuple(_sortable(v) for v in row)), axis=1)
        return df.iloc[keys.argsort().to_numpy()].reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(actual), ordered(expected), check_dtype=False)
    return True


@ray.remote
class Counter:
    def __init__(self):
        self.count = 0

    def increment(self):
        self.count += 1

    def get(self):
        return self.count

    def reset(self):
        self.count = 0


@contextmanager
def gen_bin_files(n: int):
    with tempfile.TemporaryDirectory() as temp_dir:
        paths = []
        for i in range(n):
            path = os.path.join(temp_dir, f"{i}.bin")
            paths.append(path)
            with open(path, "wb") as fp:
                fp.write((str(i) * 500).encode())
        yield temp_dir, paths


def column_udf(col: str, udf: Any) -> Any:
    @functools.wraps(udf)
    def wraps(row):
        return {col: udf(row[col])}

    return wraps


def column_udf_class(col: str, udf: Any) -> Any:
    class UDFClass:
        def __call__(self, row):
            return {col: udf(row[col])}

    return UDFClass


def named_values(col_names: Any, tuples: Any) -> list:
    if isinstance(col_names, list):
        return [dict(zip(col_names, t, strict=False)) for t in tuples]
    return [{col_names: t} for t in tuples]


def extract_values(col_name: str, tuples: Any) -> list:
    return [t[col_name] for t in tuples]


@ray.remote(num_cpus=0)
class ConcurrencyCounter:
    """Counts calls in flight and their maximum (`ray.data.tests.test_util`)."""

    def __init__(self):
        self.concurrency = 0
        self.max_concurrency = 0

    def inc(self):
        self.concurrency += 1
        self.max_concurrency = max(self.max_concurrency, self.concurrency)
        return self.concurrency

    def decr(self):
        self.concurrency -= 1
        return self.concurrency

    def get_max_concurrency(self):
        return self.max_concurrency


def _ref_bundles_iterator_to_block_refs_list(bundles: Any) -> list:
    """The block refs of an iterator of RefBundles, in order (Ray Data's helper)."""
    return [ref for bundle in bundles for ref in bundle.block_refs]


__getattr__ = module_getattr("ray.data.tests.util")
