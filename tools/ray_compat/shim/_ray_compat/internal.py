"""Stand-ins for Ray-internal names that ember does not have: they exist (so a test file
that imports one still loads) but raise when used (so the tests that use one fail)."""

from __future__ import annotations

import sys


class RayInternal:
    """Stands for a Ray-internal name that ember does not have."""

    def __init__(self, name: str, *args, **kwargs) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return RayInternal(f"{self._name}.{attr}")

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"{self._name} is Ray-internal; ember has no counterpart")

    def __repr__(self) -> str:
        return f"<Ray internal {self._name}>"

    def __mro_entries__(self, bases):
        return (object,)  # a test class deriving from a Ray-internal base still loads


class Stub(type(sys)):
    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return RayInternal(f"{self.__name__}.{attr}")




def module_getattr(module: str):
    """A module-level __getattr__ giving stand-ins for the names a module lacks."""

    def __getattr__(attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return RayInternal(f"{module}.{attr}")

    return __getattr__
