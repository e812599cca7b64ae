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

# Documentation examples that cannot run on this machine, or that use only Ray internals.
_S = "doc/source/serve/doc_code/"
_C = "doc/source/ray-core/doc_code/"
_DOWNLOAD = "downloads a model (transformers, diffusers or torch.hub); nothing may be downloaded"
_CPUS = ("starts replicas of 1 CPU each beyond this 2-CPU machine and waits for CPUs (passes "
         "with init(num_cpus=8); Ray 2.60 waits the same way here)")
_GPU = "needs GPUs (NCCL, CUDA)"
OUT_OF_SCOPE.update({
    _S + "async_inference_autoscaling.py": "needs a Celery broker (Ray's Celery task adapter)",
    _S + "aws_neuron_core_inference_serve.py": "needs AWS Neuron (torch_neuronx)",
    _S + "aws_neuron_core_inference_serve_stable_diffusion.py":
        "needs AWS Neuron (torch_neuronx)",
    _S + "capacity_queue_request_router_app.py":
        "ray.serve.experimental.capacity_queue, built on Serve's internal router hooks",
    _S + "gradio-integration.py": "needs gradio, not installed",
    _S + "gradio-integration-parallel.py": "needs gradio, not installed",
    _S + "gradio-original.py": "needs gradio, not installed",
    _S + "http_guide/http_guide.py": "needs OpenTelemetry instrumentation, not installed",
    _S + "intel_gaudi_inference_client.py": "a client of an Intel Gaudi server started elsewhere",
    _S + "mlflow_model_registry_integration.py": "needs scikit-learn and MLflow, not installed",
    _S + "sklearn_quickstart.py": "needs scikit-learn, not installed",
    _S + "tutorial_sklearn.py": "needs scikit-learn, not installed",
    _S + "multiplexed.py": "needs aioboto3 and S3",
    _S + "varying_deps.py": "installs packages from the network (runtime_env pip)",
    **{_S + name: _DOWNLOAD for name in (
        "develop_and_deploy.py", "distilbert.py", "getting_started/model_deployment.py",
        "getting_started/model_deployment_full.py", "getting_started/models.py",
        "getting_started/translator.py", "production_guide/text_ml.py",
        "streaming_tutorial.py", "transformers_example.py", "image_classifier_example.py",
        "translator_example.py", "stable_diffusion.py", "object_detection.py")},
    **{_S + name: _CPUS for name in (
        "autoscale_model_comp_example.py", "key_concepts.py", "managing_deployments.py",
        "model_composition/chaining_example.py", "model_composition/language_example.py",
        "model_composition/response_to_object_ref_example.py", "replica_rank.py",
        "quickstart_composed.py")},
    _C + "pattern_tree_of_actors.py": _CPUS.replace("replicas", "actors"),
    _C + "cgraph_nccl.py": _GPU,
    _C + "cgraph_overlap.py": _GPU,
    _C + "cgraph_profiling.py": _GPU,
    _C + "direct_transport_nccl.py": _GPU,
    _C + "direct_transport_nixl.py": _GPU,
    _C + "cgraph_visualize.py": "needs graphviz and its dot program, not installed",
    _C + "cross_language.py": "needs Java",
    _C + "object_ref_serialization.py": "ends with ray._private.internal_api.free",
    _C + "anti_pattern_out_of_band_object_ref_serialization.py":
        "ray._private.internal_api.memory_summary",
    _C + "ray_oom_prevention.py": "Ray's memory monitor helpers (ray._private.utils)",
})

# Tests, by file and function name (every parametrization), that exercise only Ray's
# internals: they are listed with the reason and deselected, not run. A test that checks
# public behaviour and merely reads one internal on the way stays in scope (and fails).
_GCS_RESTART = "restarts Ray's GCS server (GCS fault-tolerance fixtures)"
_DEFER_SIGINT = "Ray's internal ray._private.utils.DeferSigint signal helper"
_GLOBAL_STATE = "reads GCS tables through ray._private.test_utils.make_global_state_accessor"
_PLUGIN = "Ray's runtime-env plugin mechanism (RAY_RUNTIME_ENV_PLUGINS classes)"
OUT_OF_SCOPE_TESTS: dict[str, dict[str, str]] = {
    "python/ray/tests/test_basic.py": {
        "test_worker_thread_count": "counts Ray's own gRPC and core-worker threads per worker",
        "test_options": "walks Ray's internal option tables (ray._common.ray_option_utils)",
        "test_function_descriptor": "ray._raylet.PythonFunctionDescriptor",
        "test_failed_task": "reads pushed errors through the GCS pubsub fixture error_pubsub",
    },
    "python/ray/tests/test_basic_2.py": {
        "test_skip_plasma": "checks plasma placement through core_worker.object_exists",
        "test_actor_large_objects": "checks plasma placement through core_worker.object_exists",
        "test_get_correct_node_ip": "patches ray._private.worker._global_node",
        "test_use_dynamic_function_and_class":
            "reads Ray's function table in the GCS through global_worker",
    },
    "python/ray/tests/test_basic_4.py": {
        "test_worker_startup_count":
            "counts workers in the raylet's debug_state.txt (global_worker.node's session)",
    },
    "python/ray/tests/test_basic_5.py": {
        "test_worker_kv_calls": "counts a worker's GCS internal-KV calls",
        "test_site_flag_inherited": "patches ray._private.services._no_site (ember's workers "
                                    "keep -S/-s: tests/test_worker_site_flags.py)",
    },
    "python/ray/tests/test_actor.py": {
        "test_actor_method_metadata_cache": "clears ray.actor._ActorClassMethodMetadata._cache",
        "test_actor_class_name": "reads actor classes from the GCS internal KV",
        "test_get_local_actor_state": "ActorHandle._get_local_state (core-worker state)",
        "test_actor_parent_task_correct": "core_worker.get_pending_children_task_ids",
        "test_parent_task_correct_concurrent_async_actor":
            "core_worker.get_pending_children_task_ids",
    },
    "python/ray/tests/test_actor_advanced.py": {
        "test_actor_resource_demand": _GLOBAL_STATE,
        "test_kill_pending_actor_with_no_restart_true": _GLOBAL_STATE,
        "test_kill_pending_actor_with_no_restart_false": _GLOBAL_STATE,
        "test_actor_timestamps": "ray._private.state.actors (GCS actor table rows)",
        "test_exception_raised_when_actor_node_dies":
            "reads global_worker.node.unique_id inside the actor",
        "test_pickled_handle_consistency": "uses ray._private.worker inside a task",
    },
    "python/ray/tests/test_wait.py": {
        "test_wait_always_fetch_local": "ray._raylet.RAY_NODE_ID_KEY and ray._private.state",
    },
    "python/ray/tests/test_queue.py": {
        "test_pull_from_streaming_batch_queue":
            "tests ray._private.test_utils.BatchQueue, a Ray-internal test helper",
    },
    "python/ray/tests/test_cancel.py": {
        "test_defer_sigint": _DEFER_SIGINT,
        "test_defer_sigint_monkey_patch_handler_called_when_exit": _DEFER_SIGINT,
        "test_defer_sigint_monkey_patch_only_last_handler_called": _DEFER_SIGINT,
        "test_defer_sigint_noop_in_non_main_thread": _DEFER_SIGINT,
    },
    "python/ray/tests/test_placement_group.py": {
        "test_placement_group_scheduling_warning":
            "expects a docs.ray.io link built by Ray's internal version helper",
    },
    "python/ray/tests/test_placement_group_2.py": {
        "test_create_placement_group_after_gcs_server_restart": _GCS_RESTART,
        "test_create_actor_with_placement_group_after_gcs_server_restart": _GCS_RESTART,
        "test_bundle_recreated_when_raylet_fo_after_gcs_server_restart": _GCS_RESTART,
    },
    "python/ray/tests/test_placement_group_3.py": {
        "test_create_placement_group_during_gcs_server_restart": _GCS_RESTART,
        "test_placement_group_wait_api": _GCS_RESTART,
        "test_placement_group_status_no_bundle_demand":
            "the autoscaler's internal state through ray._raylet.GcsClient",
        "test_placement_group_status": "the autoscaler's internal state through ray._raylet.GcsClient",
    },
    "python/ray/tests/test_placement_group_4.py": {
        "test_remove_placement_group_worker_startup_slowly": _PLUGIN,
    },
    "python/ray/tests/test_placement_group_5.py": {
        "test_placement_group_leaks": _PLUGIN,
        "test_remove_placement_group_with_pending_worker_lease_waiting_for_pg_resource":
            "Ray's scheduler metric ray_scheduler_tasks{State=\"Dispatched\"} and "
            "ray._common build_address",
    },
}

_PLANNER = "Ray Data's physical planner (ray.data._internal.planner.create_planner)"
_METRICS = "Ray Data conftest's core execution-metrics snapshots"
OUT_OF_SCOPE_TESTS.update({
    "python/ray/data/tests/test_union.py": {
        "test_union_with_filter":
            "Ray Data's LogicalOptimizer and _plan._logical_plan.dag.dag_str",
    },
    "python/ray/data/tests/test_splitblocks.py": {
        "test_splitrange": "ray.data._internal...map_operator._splitrange",
        "test_split_blocks": "ray.data._internal...map_operator._split_blocks",
        "test_small_file_split": _METRICS,
    },
    "python/ray/data/tests/test_randomize_block_order.py": {
        "test_randomize_blocks_operator": _PLANNER,
    },
    "python/ray/data/tests/test_repartition_e2e.py": {
        "test_streaming_repartition_write_with_operator_fusion": _PLANNER,
        "test_streaming_repartition_fusion_output_shape": _PLANNER,
        "test_streaming_repartition_fusion_non_strict": _PLANNER,
    },
    "python/ray/data/tests/test_dataset_limits.py": {"test_limit_execution": _METRICS},
    "python/ray/data/tests/test_zip.py": {
        "test_zip_does_not_free_shared_materialized_blocks":
            "Ray Data's InputData operator (execute)",
    },
    "python/ray/data/tests/test_random_e2e.py": {
        "test_random_shuffle_with_custom_resource":
            "reads Ray's bundled example data (example://parquet_images_mini)",
    },
})

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
