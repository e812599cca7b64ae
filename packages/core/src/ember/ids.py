"""Ray's id classes (`ember.NodeID`, `ember.JobID`, …): immutable bytes with `hex()`.

ember passes ids as hex strings (`get_runtime_context().get_node_id()`); these classes
are what Ray's programs wrap those strings in, with Ray's constructors and sizes.
"""

from __future__ import annotations

import os
from typing import TypeVar

__all__ = [
    "ActorClassID",
    "ActorID",
    "BaseID",
    "FunctionID",
    "JobID",
    "NodeID",
    "TaskID",
    "UniqueID",
    "WorkerID",
]

_T = TypeVar("_T", bound="BaseID")


class BaseID(bytes):
    """An id: bytes of the class's size (`size()`), shown and parsed as hex."""

    SIZE = 28

    @classmethod
    def size(cls) -> int:
        """How many bytes an id of this class has."""
        return cls.SIZE

    @classmethod
    def from_binary(cls: type[_T], data: bytes) -> _T:
        """The id whose bytes are `data`."""
        return cls(data)

    @classmethod
    def from_hex(cls: type[_T], hex_id: str | bytes) -> _T:
        """The id whose hex form is `hex_id`."""
        if isinstance(hex_id, bytes):
            hex_id = hex_id.decode()
        try:
            return cls(bytes.fromhex(hex_id))
        except ValueError:
            raise ValueError(f"{hex_id!r} is not a hex {cls.__name__}.") from None

    @classmethod
    def from_random(cls: type[_T]) -> _T:
        """A fresh random id."""
        return cls(os.urandom(cls.SIZE))

    @classmethod
    def nil(cls: type[_T]) -> _T:
        """The all-0xff id Ray uses for "none"."""
        return cls(b"\xff" * cls.SIZE)

    def binary(self) -> bytes:
        """The id's bytes."""
        return bytes(self)

    def is_nil(self) -> bool:
        """Whether this is the nil id."""
        return all(b == 0xFF for b in self)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and bytes.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return bytes.__hash__(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hex()})"


class UniqueID(BaseID):
    """A generic 28-byte id."""


class NodeID(BaseID):
    """A node's id (`get_runtime_context().get_node_id()` is its hex)."""


class WorkerID(BaseID):
    """A worker process's id."""


class FunctionID(BaseID):
    """A remote function's id."""


class ActorClassID(BaseID):
    """An actor class's id."""


class JobID(BaseID):
    """A job's id (4 bytes)."""

    SIZE = 4

    @classmethod
    def from_int(cls, value: int) -> JobID:
        """The job id of the given number."""
        return cls(value.to_bytes(cls.SIZE, "little"))

    def int(self) -> int:
        """The job's number."""
        return int.from_bytes(self, "little")


class ActorID(BaseID):
    """An actor's id (16 bytes, as Ray's: 12 unique, then its job's id)."""

    SIZE = 16

    @property
    def job_id(self) -> JobID:
        """The job that created the actor."""
        return JobID(self[-JobID.SIZE:])


class TaskID(BaseID):
    """A task's id (20 bytes: 16 unique, then its job's id; Ray's has 24, with the
    job's id last as well). `ObjectRef.task_id()` is one."""

    SIZE = 20

    def job_id(self) -> JobID:
        """The job that submitted the task."""
        return JobID(self[-JobID.SIZE:])
