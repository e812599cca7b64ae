"""The public surface of ember.data: sorted __all__, Ray's names, importable everywhere."""

from __future__ import annotations

import subprocess
import sys

import ember.data
from ember.data import aggregate


def test_all_is_sorted_and_present():
    assert ember.data.__all__ == sorted(ember.data.__all__)
    for name in ember.data.__all__:
        assert hasattr(ember.data, name), name


def test_ray_data_names_exist():
    for name in ["range", "range_tensor", "from_items", "from_pandas", "from_numpy",
                 "from_arrow", "read_parquet", "read_csv", "read_json", "read_text",
                 "read_images", "read_numpy", "read_binary_files", "Dataset",
                 "DataContext", "ActorPoolStrategy", "DataIterator", "Schema"]:
        assert hasattr(ember.data, name), name
    for name in ["AggregateFn", "Count", "Sum", "Min", "Max", "Mean", "Std"]:
        assert hasattr(aggregate, name), name
    assert aggregate.__all__ == sorted(aggregate.__all__)
    assert ember.data.datasource.__all__ == sorted(ember.data.datasource.__all__)


def test_dataset_methods_exist():
    for name in ["map", "map_batches", "flat_map", "filter", "add_column", "drop_columns",
                 "select_columns", "rename_columns", "repartition", "random_shuffle",
                 "randomize_block_order", "sort", "groupby", "union", "zip", "limit",
                 "unique", "train_test_split", "split", "streaming_split", "take",
                 "take_all", "take_batch", "show", "count", "schema", "columns", "iter_rows",
                 "iter_batches", "iter_torch_batches", "to_pandas", "to_arrow_refs",
                 "materialize", "stats", "write_parquet", "write_csv", "write_json",
                 "write_numpy", "aggregate", "sum", "min", "max", "mean", "std"]:
        assert callable(getattr(ember.data.Dataset, name)), name


def test_ember_data_imports_in_a_fresh_interpreter():
    code = "import ember.data, ember; print(ember.data.range.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ember.data.read_api"
