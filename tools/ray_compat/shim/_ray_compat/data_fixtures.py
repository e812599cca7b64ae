"""The fixtures of Ray Data's `python/ray/data/tests/conftest.py` that its public tests
use, re-implemented over ember Data's public API (added to each Data run's conftest)."""

from __future__ import annotations

import copy
import os
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import ray

from _ray_compat import data_private
from _ray_compat.data_test_util import get_pyarrow_version  # noqa: F401 (re-exported)
from _ray_compat.fixtures import _ray_start
from _ray_compat.internal import module_getattr

data_private.install()


def _context() -> Any:
    return ray.data.DataContext.get_current()


@pytest.fixture
def data_context_attr(request):
    """Set one DataContext attribute for a test, then put it back."""
    ctx = _context()
    saved: dict[str, Any] = {}

    def set_attr(name: str, value: Any) -> None:
        if name not in saved:
            saved[name] = getattr(ctx, name, None)
        setattr(ctx, name, value)

    yield set_attr
    for name, value in saved.items():
        setattr(ctx, name, value)


@pytest.fixture(scope="module")
def data_context_override(request):
    overrides = getattr(request, "param", {})
    ctx = _context()
    original = copy.deepcopy(ctx)
    for k, v in overrides.items():
        assert hasattr(ctx, k), f"Key '{k}' not found in DataContext"
        setattr(ctx, k, v)
    yield ctx
    ray.data.DataContext._set_current(original)


@pytest.fixture(scope="module")
def ray_start_2_cpus_shared(request):
    with _ray_start(num_cpus=2, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture(scope="module")
def ray_start_10_cpus_shared(request):
    with _ray_start(num_cpus=10, **getattr(request, "param", {})) as res:
        yield res


@pytest.fixture
def restore_data_context(request):
    ctx = _context()
    original = copy.deepcopy(ctx)
    yield ctx
    ray.data.DataContext._set_current(original)


@pytest.fixture
def data_dir():
    yield "test_data"


@pytest.fixture
def data_dir_with_space():
    yield "test data"


@pytest.fixture
def data_dir_with_special_chars():
    yield "test data#fragment?query=test/"


@pytest.fixture
def local_path(tmp_path, data_dir):
    path = os.path.join(tmp_path, data_dir)
    os.mkdir(path)
    yield path


@pytest.fixture
def local_fs():
    yield pa.fs.LocalFileSystem()


@pytest.fixture
def base_partitioned_df():
    yield pd.DataFrame({"one": [1, 1, 1, 3, 3, 3], "two": ["a", "b", "c", "e", "f", "g"]})


@pytest.fixture(params=["sort_shuffle_pull_based", "hash_shuffle"])
def configure_shuffle_method(request, data_context_attr):
    data_context_attr("shuffle_strategy", request.param)
    if request.param == "hash_shuffle":
        data_context_attr("default_hash_shuffle_parallelism", 8)
    yield request.param


@pytest.fixture(params=[True, False])
def use_polars_sort(request, data_context_attr):
    data_context_attr("use_polars_sort", request.param)
    yield request.param


@pytest.fixture(params=[True, False])
def enable_automatic_tensor_extension_cast(request, data_context_attr):
    data_context_attr("enable_tensor_extension_casting", request.param)
    yield request.param


@pytest.fixture(params=[True, False])
def enable_auto_log_stats(request, data_context_attr):
    data_context_attr("enable_auto_log_stats", request.param)
    yield request.param


@pytest.fixture(params=[1024])
def target_max_block_size(request, data_context_attr):
    data_context_attr("target_max_block_size", request.param)
    yield request.param


@pytest.fixture(params=[None, 128 * 1024 * 1024])
def target_max_block_size_infinite_or_default(request, data_context_attr):
    data_context_attr("target_max_block_size", request.param)
    yield


@pytest.fixture(params=[None])
def target_max_block_size_infinite(request, data_context_attr):
    data_context_attr("target_max_block_size", request.param)
    yield


@pytest.fixture
def ds_pandas_single_column_format(ray_start_regular_shared):
    yield ray.data.from_pandas(pd.DataFrame({"column_1": [1, 2, 3, 4]}))


@pytest.fixture
def ds_pandas_multi_column_format(ray_start_regular_shared):
    yield ray.data.from_pandas(pd.DataFrame({"column_1": [1, 2, 3, 4],
                                             "column_2": [1, -1, 1, -1]}))


@pytest.fixture
def ds_arrow_single_column_format(ray_start_regular_shared):
    yield ray.data.from_arrow(pa.table({"column_1": [1, 2, 3, 4]}))


@pytest.fixture
def ds_arrow_multi_column_format(ray_start_regular_shared):
    yield ray.data.from_arrow(pa.table({"column_1": [1, 2, 3, 4],
                                        "column_2": [1, -1, 1, -1]}))


@pytest.fixture
def ds_numpy_single_column_tensor_format(ray_start_regular_shared):
    import numpy as np

    yield ray.data.from_numpy(np.arange(16).reshape((4, 2, 2)))


@pytest.fixture
def disable_fallback_to_object_extension(request, restore_data_context):
    """Columns Arrow cannot type are errors instead of Python-object columns."""
    _context().enable_fallback_to_arrow_object_ext_type = False


# Ray Data's conftest also exports helpers over Ray-internal execution metrics
# (CoreExecutionMetrics, assert_core_execution_metrics_equals, ...): stand-ins, so a
# file importing them loads and only the tests that use them fail.
__getattr__ = module_getattr("ray.data.tests.conftest")
