"""Names Ray programs and Ray's tests import exist, with Ray's behaviour."""

from __future__ import annotations

import pytest

import ember
from ember import exceptions


def test_object_id_and_cloudpickle_aliases():
    assert ember.ObjectID is ember.ObjectRef
    import cloudpickle

    assert ember.cloudpickle is cloudpickle
    from ember.types import ObjectRef

    assert ObjectRef is ember.ObjectRef


def test_cluster_utils_exports_cluster_not_supported():
    from ember.cluster_utils import cluster_not_supported

    assert cluster_not_supported is False


@pytest.mark.parametrize("name, base", [
    ("ObjectFetchTimedOutError", exceptions.ObjectLostError),
    ("ObjectReconstructionFailedError", exceptions.ObjectLostError),
    ("ObjectReconstructionFailedMaxAttemptsExceededError", exceptions.ObjectLostError),
    ("ObjectReconstructionFailedLineageEvictedError", exceptions.ObjectLostError),
    ("ActorPlacementGroupRemoved", exceptions.RayError),
    ("PendingCallsLimitExceeded", exceptions.RayError),
    ("OutOfDiskError", exceptions.RayError),
    ("AsyncioActorExit", exceptions.RayError),
])
def test_ray_exception_names(name, base):
    assert issubclass(getattr(exceptions, name), base)
    assert name in exceptions.__all__


def test_inheriting_from_an_actor_class_is_refused():
    from ember.actor import ActorClassInheritanceException

    @ember.remote
    class Base:
        pass

    with pytest.raises(ActorClassInheritanceException,
                       match="Inheriting from actor classes is not currently supported"):
        class Derived(Base):  # noqa: F841
            pass


def test_validate_placement_group():
    from ember.util.placement_group import (
        VALID_PLACEMENT_GROUP_STRATEGIES,
        validate_placement_group,
    )

    for strategy in VALID_PLACEMENT_GROUP_STRATEGIES:
        validate_placement_group(bundles=[{"CPU": 1}], strategy=strategy)
    with pytest.raises(ValueError, match="Invalid placement group strategy"):
        validate_placement_group(bundles=[{"CPU": 1}], strategy="invalid")
    with pytest.raises(ValueError, match="lifetime"):
        validate_placement_group(bundles=[{"CPU": 1}], lifetime="forever")
    with pytest.raises(ValueError):
        validate_placement_group(bundles=[])


def test_get_if_exists_and_name_checks(cluster):
    @ember.remote
    class Named:
        def pid(self):
            import os

            return os.getpid()

    for ns in [None, "other"]:
        a = Named.options(name="x", namespace=ns, get_if_exists=True).remote()
        b = Named.options(name="x", namespace=ns, get_if_exists=True).remote()
        assert ember.get(a.pid.remote()) == ember.get(b.pid.remote())
    with pytest.raises(TypeError):
        Named.options(name=object(), get_if_exists=True).remote()
    with pytest.raises(TypeError):
        Named.options(name="x", namespace=object(), get_if_exists=True).remote()
    with pytest.raises(ValueError, match="get_if_exists"):
        Named.options(get_if_exists=True).remote()


def test_placement_group_misfit_message(cluster):
    from ember.util import placement_group, remove_placement_group
    from ember.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = placement_group([{"CPU": 1}])
    ember.get(pg.ready(), timeout=30)

    @ember.remote(num_cpus=1, num_gpus=8)
    class Big:
        pass

    strategy = PlacementGroupSchedulingStrategy(pg)
    with pytest.raises(ValueError, match=r"Cannot schedule .*Big with the placement group "
                       r"because the resource request \{'CPU': 1, 'GPU': 8\} cannot fit"):
        Big.options(scheduling_strategy=strategy).remote()
    remove_placement_group(pg)


def test_builtin_actor_methods_and_class_attributes(cluster):
    class Base:
        BASE = 2

    @ember.remote
    class Thing(Base):
        X = 3

        def __init__(self):
            self.value = 5

        def uses_class(self):
            return Thing.X + Thing.BASE

        @staticmethod
        def helper():
            return 7

    assert Thing.X == 3 and Thing.BASE == 2 and Thing.helper() == 7
    t = Thing.remote()
    assert ember.get(t.__ray_ready__.remote()) is True
    assert ember.get(t.__ray_call__.remote(lambda self, k: self.value * k, 2)) == 10
    assert ember.get(t.uses_class.remote()) == 5
    assert Thing.__ray_metadata__.class_name.endswith("Thing")
    ember.wait([t.__ray_terminate__.remote()], timeout=30)
    with pytest.raises(ember.exceptions.RayActorError):
        ember.get(t.uses_class.remote(), timeout=30)


def test_state_rows_read_as_attributes(cluster):
    from ember.util import state

    @ember.remote
    class Listed:
        def ping(self):
            return 1

    a = Listed.remote()
    ember.get(a.ping.remote())
    rows = [r for r in state.list_actors() if r["class_name"].endswith("Listed")]
    assert rows and rows[0].actor_id == rows[0]["actor_id"]
    assert state.get_actor(rows[0].actor_id)["state"] == "ALIVE"
    assert state.get_actor("00" * 16) is None


def test_id_classes():
    node = ember.NodeID.from_random()
    assert len(node.binary()) == ember.NodeID.size() == 28
    assert ember.NodeID.from_hex(node.hex()) == node and hash(ember.NodeID(node)) == hash(node)
    assert ember.NodeID(node.binary()) != ember.WorkerID(node.binary())  # typed equality
    assert ember.JobID.from_int(3).int() == 3 and ember.JobID.size() == 4
    assert ember.TaskID.nil().is_nil() and not ember.ActorID.from_random().is_nil()
    with pytest.raises(ValueError, match="hex"):
        ember.NodeID.from_hex("zz")
    assert "NodeID" in repr(node)


def test_implicit_node_resources_and_named_actor_listing(cluster):
    totals = ember.cluster_resources()
    assert totals["node:__internal_head__"] == 1.0 and totals["node:127.0.0.1"] == 1.0

    @ember.remote(resources={"node:__internal_head__": 0.01})
    def on_head():
        return ember.get_runtime_context().get_node_id()

    assert ember.get(on_head.remote()) == ember.get_runtime_context().get_node_id()

    @ember.remote
    class Named:
        pass

    with pytest.raises(ValueError, match="cannot be an empty string"):
        Named.options(name="").remote()
    here = Named.options(name="listed").remote()
    there = Named.options(name="elsewhere", namespace="other-ns").remote()
    anonymous = Named.remote()
    ember.get([a.__ray_ready__.remote() for a in (here, there, anonymous)])
    from ember.util import list_named_actors

    assert "listed" in list_named_actors() and "elsewhere" not in list_named_actors()
    every = list_named_actors(all_namespaces=True)
    assert {"name": "elsewhere", "namespace": "other-ns"} in every
    ember.kill(here)
    ember.kill(there)


def test_dir_of_actor_classes_handles_and_methods(cluster):
    """Autocompletion offers what Ray's does."""

    @ember.remote
    class Foo:
        def method_one(self) -> None:
            pass

    assert {n for n in dir(Foo) if not n.startswith("_")} == {
        "method_one", "options", "remote", "bind"}
    f = Foo.remote()
    assert set(dir(f)) == {"__init__", "method_one", "__ray_ready__", "__ray_call__",
                           "__ray_terminate__"}
    assert {n for n in dir(f.method_one) if not n.startswith("_")} == {
        "options", "remote", "bind"}
    ember.kill(f)


def test_node_ip_address_and_connect_only_options(cluster):
    from ember.util import get_node_ip_address

    assert get_node_ip_address() == "127.0.0.1"

    @ember.remote
    def ip():
        from ember.util import get_node_ip_address

        return get_node_ip_address()

    assert ember.get(ip.remote()) == "127.0.0.1"
