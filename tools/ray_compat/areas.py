"""Which of Ray's files each area runs, and which are out of scope (with the reason)."""

from __future__ import annotations

# Globs relative to the root of a Ray checkout.
AREAS: dict[str, list[str]] = {
    "core": [
        "python/ray/tests/test_basic*.py",
        "python/ray/tests/test_actor.py",
        "python/ray/tests/test_actor_advanced.py",
        "python/ray/tests/test_actor_pool.py",
        "python/ray/tests/test_async.py",
        "python/ray/tests/test_wait.py",
        "python/ray/tests/test_queue.py",
        "python/ray/tests/test_concurrency_group.py",
        "python/ray/tests/test_get_or_create_actor.py",
        "python/ray/tests/test_cancel.py",
        "python/ray/tests/test_runtime_context.py",
        "python/ray/tests/test_placement_group*.py",
    ],
    "data": ["python/ray/data/tests/test_*.py"],
    "serve": [
        "python/ray/serve/tests/test_handle*.py",
        "python/ray/serve/tests/test_model_composition.py",
    ],
    "tune": [
        "python/ray/tune/tests/test_stopper.py",
        "python/ray/tune/tests/test_result_grid.py",
    ],
    "docs": [
        "doc/source/ray-core/doc_code/*.py",
        "doc/source/data/doc_code/*.py",
        "doc/source/serve/doc_code/*.py",
        "doc/source/tune/doc_code/*.py",
    ],
}

# Files that test Ray's internals rather than its public behaviour, or need what this
# machine does not have; they are listed, not run.
OUT_OF_SCOPE: dict[str, str] = {
    "python/ray/tests/test_placement_group_metrics.py": "Ray's metrics agent internals",
    "python/ray/tests/test_placement_group_failover.py": "GCS fault-tolerance internals",
    "python/ray/tests/test_actor_state_metrics.py": "Ray's metrics agent internals",
    "python/ray/data/tests/test_pandas_block.py":
        "Ray Data's pandas block internals (PandasBlockAccessor, PandasBlockColumnAccessor, "
        "PandasBlockBuilder); ember's blocks are Arrow tables",
    "python/ray/data/tests/test_limit_operator.py":
        "Ray Data's physical operator internals (LimitOperator, InputDataBuffer, "
        "StreamingExecutor)",
}

# Words in a Data test file's text that mark it as needing a cloud, a GPU or a framework
# this project does not ship; such files are out of scope.
DATA_EXCLUDE_WORDS = ("s3://", "gcs://", "gs://", "abfss://", "tensorflow", "bigquery",
                      "mongo", "snowflake", "databricks", "iceberg", "hudi", "delta_sharing",
                      "lance", "clickhouse", "webdataset", "tfrecords", "huggingface",
                      "num_gpus=1", "daft", "unity_catalog", "kafka", "turbopuffer")

# The same for the Data, Serve and Tune documentation examples: a cloud bucket, a GPU
# inference engine, or a framework or search library that is not installed here.
DOCS_EXCLUDE_WORDS = ("s3://", "gs://", "vllm", "tensorflow", "torchvision", "hyperopt",
                      "bayesopt", "num_gpus=1")
