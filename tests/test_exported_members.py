import pytest

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


PUBLIC_MODULES = ["ember", "ember.util", "ember.exceptions"]


def _exported(module_name: str) -> list[tuple[str, object]]:
    import importlib

    module = importlib.import_module(module_name)
    return [(f"{module_name}.{name}", getattr(module, name)) for name in module.__all__]


def test_every_exported_name_has_a_docstring():
    missing = [path for m in PUBLIC_MODULES for path, obj in _exported(m)
               if not (obj.__doc__ or "").strip()]
    assert not missing, f"exported names without a docstring: {missing}"


def test_exported_classes_and_functions_show_a_public_path():
    """`__module__` names no private module, and `module.qualname` is the object itself
    (what pickle and documentation tools rely on)."""
    import importlib
    import inspect

    wrong = []
    for m in PUBLIC_MODULES:
        for path, obj in _exported(m):
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            module_name = obj.__module__
            found: object = importlib.import_module(module_name)
            for part in obj.__qualname__.split("."):
                found = getattr(found, part, None)
            if any(p.startswith("_") for p in module_name.split(".")) or found is not obj:
                wrong.append(f"{path} shows as {module_name}.{obj.__qualname__}")
    assert not wrong, wrong
    assert repr(ember.ObjectRef) == "<class 'ember.ObjectRef'>"
    assert ember.get.__module__ == "ember"


@ember.remote
def _round_trip(values: list) -> tuple[list, list[bool]]:
    """Send the values back, with whether each class arrived as the worker's own class
    (pickled by reference, not copied by value)."""
    import ember.exceptions as ex

    same = [isinstance(v, type) and (getattr(ex, v.__name__, None) is v
                                     or getattr(ember, v.__name__, None) is v)
            for v in values]
    return values, same


def test_public_classes_and_exceptions_pickle_across_a_task(cluster):
    import ember.exceptions as ex

    classes = [getattr(ex, name) for name in ex.__all__]
    classes += [ember.ObjectRef, ember.ObjectRefGenerator, ember.DynamicObjectRefGenerator]
    errors = [cls() for cls in classes[:len(ex.__all__)]]
    back, same = ember.get(_round_trip.remote([*classes, *errors, ember.get]))
    assert same[:len(classes)] == [True] * len(classes)
    assert back[:len(classes)] == classes
    assert all(a is b for a, b in zip(back[:len(classes)], classes, strict=True))
    returned_errors = back[len(classes):-1]
    assert [type(e) for e in returned_errors] == [type(e) for e in errors]
    assert [str(e) for e in returned_errors] == [str(e) for e in errors]
    assert back[-1] is ember.get


@ember.remote
def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("name", ["GetTimeoutError", "ObjectLostError", "RayActorError"])
def test_an_ember_exception_raised_in_a_task_keeps_its_class(cluster, name):
    import ember.exceptions as ex

    cls = getattr(ex, name)
    with pytest.raises(cls) as info:
        ember.get(_raise.remote(cls()))
    assert isinstance(info.value, ex.RayTaskError)
    assert type(info.value.cause) is cls
