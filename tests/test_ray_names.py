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
                       match="Inheriting from actor classes is not allowed"):
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
