"""ember Data: streaming, larger-than-memory datasets with Ray Data's API.

    import ember as ray

    ds = ray.data.range(1_000_000).map_batches(lambda b: {"x": b["id"] * 2})
    print(ds.sum("x"))

Datasets are lazy plans over Arrow blocks in the object store; consuming one streams it
through tasks and actor pools with bounded memory (see DataContext for the tunables).
"""

from __future__ import annotations

from ember.data import aggregate, datasource
from ember.data.compute import ActorPoolStrategy, TaskPoolStrategy
from ember.data.context import DataContext, ExecutionOptions, ExecutionResources
from ember.data.dataset import Dataset, MaterializedDataset
from ember.data.datasource import Datasink, Datasource, ReadTask
from ember.data.exceptions import UserCodeException
from ember.data.grouped_data import GroupedData
from ember.data.iterator import DataIterator
from ember.data.read_api import (
    from_arrow,
    from_arrow_refs,
    from_blocks,
    from_items,
    from_numpy,
    from_numpy_refs,
    from_pandas,
    from_pandas_refs,
    range,
    range_tensor,
    read_binary_files,
    read_csv,
    read_datasource,
    read_images,
    read_json,
    read_numpy,
    read_parquet,
    read_text,
)
from ember.data.schema import Schema

__all__ = [
    "ActorPoolStrategy",
    "DataContext",
    "DataIterator",
    "Dataset",
    "Datasink",
    "Datasource",
    "ExecutionOptions",
    "ExecutionResources",
    "GroupedData",
    "MaterializedDataset",
    "ReadTask",
    "Schema",
    "TaskPoolStrategy",
    "UserCodeException",
    "aggregate",
    "datasource",
    "from_arrow",
    "from_arrow_refs",
    "from_blocks",
    "from_items",
    "from_numpy",
    "from_numpy_refs",
    "from_pandas",
    "from_pandas_refs",
    "range",
    "range_tensor",
    "read_binary_files",
    "read_csv",
    "read_datasource",
    "read_images",
    "read_json",
    "read_numpy",
    "read_parquet",
    "read_text",
]
