"""`import ray` gives ember: this package replaces itself with ember on import.

Every `ray.X` module resolves to the already-loaded `ember.X` module object (the same
object, so `ray.exceptions.RayTaskError is ember.exceptions.RayTaskError`), except the
few Ray-internal helper modules that Ray's tests import, which map to our own
re-implementations in `_ray_compat`. A `ray.X` with no ember counterpart raises
ModuleNotFoundError, and the test that needs it fails, as it should.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys

from _ray_compat.internal import RayInternal
from _ray_compat.internal import Stub as _Stub

# Ray-internal modules used by its tests, and what stands for them here.
OVERRIDES = {
    "ray._common.test_utils": "_ray_compat.test_utils",
    "ray._private.test_utils": "_ray_compat.test_utils",
    "ray._private.state_api_test_utils": "_ray_compat.state_api_test_utils",
    "ray.tests.conftest": "_ray_compat.fixtures",
    "ray.serve.tests.conftest": "_ray_compat.serve_fixtures",
    "ray.data.tests.conftest": "_ray_compat.data_fixtures",
    "ray.data.tests.util": "_ray_compat.data_test_util",
    "ray.data.tests.test_util": "_ray_compat.data_test_util",
    "ray.data._internal.arrow_ops.transform_pyarrow": "_ray_compat.data_test_util",
    # Ray's module of the Datasource/ReadTask classes; ember's are in ember.data.datasource.
    "ray.data.datasource.datasource": "ember.data.datasource",
    "ray.data._internal.execution.interfaces.ref_bundle": "_ray_compat.data_test_util",
    "ray.data._internal.util": "_ray_compat.data_test_util",
    "ray.data._internal.utils.arrow_utils": "_ray_compat.data_test_util",
    "ray.data._internal.logical.operators": "_ray_compat.data_test_util",
    "ray.data._internal.logical.operators.join_operator": "_ray_compat.data_test_util",
    "ray.tests.client_test_utils": "_ray_compat.test_utils",
    "ray._common.utils": "_ray_compat.common_utils",
    "ray.serve._private.test_utils": "_ray_compat.serve_test_utils",
    "ray.serve._private.constants": "_ray_compat.serve_constants",
    "ray.train.tests.util": "_ray_compat.train_test_util",
    "ray.tune.experimental.output": "_ray_compat.tune_output",
    "ray._common.constants": "_ray_compat.constants",
    "ray._raylet": "_ray_compat.raylet",
    # Ray's dag package's modules: ember's graph nodes live in one module, ember.dag.
    "ray.dag.input_node": "ember.dag",
    "ray.dag.output_node": "ember.dag",
    "ray.dag.function_node": "ember.dag",
    "ray.dag.class_node": "ember.dag",
    "ray.dag.dag_node": "ember.dag",
    "ray._private.ray_constants": "_ray_compat.constants",
    "ray._private.worker": "_ray_compat.private_worker",
    "ray._private.state": "_ray_compat.private_state",
    "ray.scripts.scripts": "_ray_compat.scripts",
}


# Sibling test modules staged beside the test file by the runner (ray.tests.X -> X).
# Our own re-implementation wins over a staged copy of the same module.
for _name, _staged in json.loads(os.environ.get("RAY_COMPAT_MODULES") or "{}").items():
    OVERRIDES.setdefault(_name, _staged)


# Ray-internal namespaces: a module there with no ember counterpart loads as a stub whose
# names exist but raise when used, so only the tests that use an internal fail.
INTERNAL = ("ray._private", "ray._raylet", "ray._common", "ray.autoscaler", "ray.core",
            "ray.experimental", "ray.scripts", "ray.dashboard", "ray.includes",
            "ray.runtime_env.runtime_env", "ray.util.state.common", "ray.util.client",
            "ray.tests", "ray._private.runtime_env")


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name != "ray" and not name.startswith("ray."):
            return None
        spec = self._find(name)
        if spec is None and (name.startswith(INTERNAL) or "._private" in name
                             or "._internal" in name):
            spec = importlib.machinery.ModuleSpec(name, _StubLoader(), is_package=True)
            spec.submodule_search_locations = []
        return spec

    def _find(self, name):
        if name not in OVERRIDES and any(k.startswith(name + ".") for k in OVERRIDES):
            # A parent of an override with no ember counterpart (ray._private, ray.tests):
            # an empty package, so that the override below it can be imported.
            try:
                missing = importlib.util.find_spec("ember" + name[3:]) is None
            except ModuleNotFoundError:  # its parent has no ember counterpart either
                missing = True
            if missing:
                spec = importlib.machinery.ModuleSpec(name, _StubLoader(), is_package=True)
                spec.submodule_search_locations = []
                return spec
        target_name = OVERRIDES.get(name, "ember" + name[3:])
        if target_name not in sys.modules:
            try:
                if importlib.util.find_spec(target_name) is None:
                    return None
            except ModuleNotFoundError:
                return None
        return importlib.machinery.ModuleSpec(name, self, origin=target_name)

    def create_module(self, spec):
        module = importlib.import_module(spec.origin)
        self._saved = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module):
        # importlib stamped the alias's spec on the shared module: give it back its own.
        module.__spec__ = self._saved
        _tolerate_private_names(module)


class _PackageStub(_Stub):
    """A stub package whose overridden submodules (`ray._private.worker`) are found as
    attributes too, as a real package's are once imported."""

    def __getattr__(self, attr: str):
        full = f"{self.__name__}.{attr}"
        if full in OVERRIDES:
            return importlib.import_module(full)
        return super().__getattr__(attr)


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _PackageStub(spec.name)

    def exec_module(self, module):
        pass


def _tolerate_private_names(module) -> None:
    """A private name (`_validate_...`) that Ray's tests import from a public module gets a
    stand-in, so the file loads and only the tests that use it fail; a missing public
    name still fails the import, since that is a gap in ember's API."""
    if getattr(module, "__name__", "").startswith("_ray_compat"):
        return
    previous = module.__dict__.get("__getattr__")

    def __getattr__(attr: str):
        if previous is not None:
            try:
                return previous(attr)
            except AttributeError:
                pass
        if attr.startswith("_") and not attr.startswith("__"):
            return RayInternal(f"{module.__name__}.{attr}")
        raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")

    module.__getattr__ = __getattr__


def _install() -> None:
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
    import pkgutil

    import ember
    import ember.util

    # Register ember.util's modules under ray.util up front: importing an alias for the
    # first time would set it as an attribute of its package, and ray.util.placement_group
    # would then be the module instead of the function (Ray's own import order avoids it).
    for info in pkgutil.iter_modules(ember.util.__path__):
        try:
            importlib.import_module(f"ember.util.{info.name}")
        except ImportError:
            pass
    import ember.dag

    if not hasattr(ember.dag, "__path__"):  # so that `ray.dag.input_node` can be imported
        ember.dag.__path__ = []
    sys.modules["ray"] = ember
    for name, mod in list(sys.modules.items()):
        if name.startswith("ember.") and "ray." + name[6:] not in sys.modules:
            sys.modules["ray." + name[6:]] = mod
            _tolerate_private_names(mod)


_install()
