__path__ = __import__("pkgutil").extend_path(__path__, __name__)  # noqa: F821

"""ember: a distributed compute engine for Python and AI workloads, with Ray's API.

    import ember as ray

    @ray.remote
    def square(x):
        return x * x

    print(ray.get([square.remote(i) for i in range(4)]))
"""

from typing import Any

from ember import exceptions
from ember._api import (
    available_resources,
    cancel,
    cluster_resources,
    get,
    get_actor,
    get_gpu_ids,
    init,
    is_initialized,
    kill,
    nodes,
    put,
    remote,
    shutdown,
    timeline,
    wait,
)
from ember._object_ref import DynamicObjectRefGenerator, ObjectRef, ObjectRefGenerator
from ember.actor import ActorClass, ActorHandle, method
from ember.runtime_context import get_runtime_context

__version__ = "0.1.0"

__all__ = [
    "ActorClass",
    "ActorHandle",
    "DynamicObjectRefGenerator",
    "ObjectRef",
    "ObjectRefGenerator",
    "available_resources",
    "cancel",
    "cluster_resources",
    "exceptions",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "kill",
    "method",
    "nodes",
    "put",
    "remote",
    "shutdown",
    "timeline",
    "wait",
]

# Names defined in private modules show their public path (`ember.get`, not
# `ember._api.get`) in reprs, docs and pickles; `ember.<name>` is the same object.
for _name in __all__:
    if getattr(globals()[_name], "__module__", "").startswith("ember._"):
        globals()[_name].__module__ = __name__
del _name

_LAZY = {"util", "actor", "ids", "runtime_env", "runtime_context", "cluster_utils", "dag",
         "types", "lowlevel", "dashboard", "job_submission", "job_config"}
_IDS = {"ActorClassID", "ActorID", "FunctionID", "JobID", "NodeID", "TaskID", "UniqueID",
        "WorkerID"}
# Libraries ship as separate distributions (ember-data, …): `ember.data` imports on use.
_LIBRARIES = {"data", "train", "tune", "serve", "rllib"}


def __getattr__(name: str) -> Any:
    if name == "cloudpickle":  # Ray re-exports the cloudpickle it vendors as ray.cloudpickle
        import cloudpickle

        return cloudpickle
    if name == "ObjectID":  # Ray's old name for ObjectRef
        return ObjectRef
    if name in _IDS:
        from ember import ids

        return getattr(ids, name)
    if name in _LAZY or name in _LIBRARIES:
        import importlib

        try:
            return importlib.import_module(f"ember.{name}")
        except ModuleNotFoundError as e:
            if name in _LIBRARIES and e.name == f"ember.{name}":
                raise AttributeError(f"ember.{name} is not installed: pip install "
                                     f"'ember[{name}]'") from None
            raise
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
