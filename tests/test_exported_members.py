import ember
import ember.util


def test_exported_members_are_sorted_and_present():
    assert ember.__all__ == sorted(ember.__all__)
    for name in ember.__all__:
        assert hasattr(ember, name), name


def test_core_api_names_exist():
    for name in ["init", "shutdown", "is_initialized", "remote", "method", "get", "put",
                 "wait", "kill", "cancel", "get_actor", "nodes", "cluster_resources",
                 "available_resources", "get_runtime_context", "get_gpu_ids", "timeline",
                 "ObjectRef", "ObjectRefGenerator", "ActorHandle", "ActorClass"]:
        assert hasattr(ember, name), name


def test_exception_names_port_from_ray():
    from ember import exceptions as ex

    for name in ["RayError", "RayTaskError", "RayActorError", "ActorDiedError",
                 "ActorUnavailableError", "GetTimeoutError", "TaskCancelledError",
                 "WorkerCrashedError", "ObjectLostError", "OwnerDiedError",
                 "ObjectStoreFullError", "OutOfMemoryError", "RuntimeEnvSetupError",
                 "NodeDiedError", "TaskUnschedulableError", "ActorUnschedulableError",
                 "TaskPlacementGroupRemoved"]:
        assert issubclass(getattr(ex, name), ex.RayError), name
    assert issubclass(ex.GetTimeoutError, TimeoutError)


def test_util_names_exist():
    from ember.util import multiprocessing, queue, scheduling_strategies, state

    assert ember.util.ActorPool and queue.Queue and multiprocessing.Pool
    assert scheduling_strategies.PlacementGroupSchedulingStrategy
    assert scheduling_strategies.NodeAffinitySchedulingStrategy
    for name in ["list_actors", "list_tasks", "list_objects", "list_nodes", "list_jobs",
                 "list_placement_groups", "summarize_tasks"]:
        assert hasattr(state, name)


def test_import_is_cheap():
    import subprocess
    import sys

    code = "import sys, ember; print('numpy' in sys.modules, 'ember.util' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
