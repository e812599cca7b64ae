"""Trainable wrappers: with_parameters (large objects put once) and with_resources."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import ember
from ember.tune.resources import to_pg_factory
from ember.tune.trainable.trainable import Trainable

__all__ = ["with_parameters", "with_resources"]


class _ParameterRefs:
    """Object refs for with_parameters, fetched once per process that uses them."""

    def __init__(self, refs: dict[str, Any]) -> None:
        self.refs = refs
        self._values: dict[str, Any] | None = None

    def values(self) -> dict[str, Any]:
        if self._values is None:
            keys = list(self.refs)
            fetched = ember.get([self.refs[k] for k in keys])
            self._values = dict(zip(keys, fetched, strict=True))
        return self._values

    def __getstate__(self) -> dict:
        return {"refs": self.refs, "_values": None}


def with_parameters(trainable: Any, **kwargs: Any) -> Any:
    """Pass large objects to a trainable without putting them in every trial's config.

    Each value is stored once with ember.put(); trials fetch it from the object store.
    A function is called as trainable(config, **kwargs); a Trainable class receives them
    in setup(config, **kwargs).
    """
    if not ember.is_initialized():
        ember.init()
    params = _ParameterRefs({k: ember.put(v) for k, v in kwargs.items()})
    if inspect.isclass(trainable) and issubclass(trainable, Trainable):

        class _WithParameters(trainable):  # type: ignore[valid-type, misc]
            _tune_parameters = params

            def setup(self, config: dict[str, Any]) -> None:
                super().setup(config, **self._tune_parameters.values())

        _WithParameters.__name__ = trainable.__name__
        _WithParameters.__qualname__ = trainable.__qualname__
        return _WithParameters
    if not callable(trainable):
        raise TypeError(f"with_parameters() expects a function or Trainable class, "
                        f"got {type(trainable).__name__}.")

    @functools.wraps(trainable)
    def _inner(config: dict[str, Any]) -> Any:
        return trainable(config, **params.values())

    if hasattr(trainable, "_tune_resources"):
        _inner._tune_resources = trainable._tune_resources  # type: ignore[attr-defined]
    return _inner


def with_resources(trainable: Any, resources: Any) -> Any:
    """Attach a resource request to a trainable.

    `resources` is a dict ({"cpu": 2, "gpu": 1, "my_resource": 1}), a
    PlacementGroupFactory, or a function of the trial config returning one of those.
    """
    if not callable(resources):
        to_pg_factory(resources)  # validate now, not when the first trial starts
    if inspect.isclass(trainable) and issubclass(trainable, Trainable):

        class _WithResources(trainable):  # type: ignore[valid-type, misc]
            @classmethod
            def default_resource_request(cls, config: dict[str, Any]) -> Any:
                return resources(config) if callable(resources) and \
                    not isinstance(resources, dict) else resources

        _WithResources.__name__ = trainable.__name__
        _WithResources.__qualname__ = trainable.__qualname__
        return _WithResources
    if not callable(trainable):
        raise TypeError(f"with_resources() expects a function or Trainable class, "
                        f"got {type(trainable).__name__}.")

    @functools.wraps(trainable)
    def _inner(config: dict[str, Any]) -> Any:
        return trainable(config)

    _inner._tune_resources = resources  # type: ignore[attr-defined]
    return _inner


def resource_request(trainable_cls: type[Trainable], config: dict[str, Any]) -> Any:
    """The PlacementGroupFactory a trial of `trainable_cls` with `config` needs."""
    request = trainable_cls.default_resource_request(config)
    return to_pg_factory(request if request is not None else {"cpu": 1})


