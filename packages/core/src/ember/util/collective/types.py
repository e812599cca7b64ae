"""Names shared by the collective API: reduce operations and backends."""

from __future__ import annotations

import enum

__all__ = ["Backend", "ReduceOp"]


class ReduceOp(enum.Enum):
    """How `allreduce` combines the ranks' tensors (Ray's `ray.util.collective.ReduceOp`)."""

    SUM = 0
    PRODUCT = 1
    MIN = 2
    MAX = 3


class Backend(enum.StrEnum):
    """Communication library of a group: gloo (CPU, and CUDA tensors) or NCCL (GPU)."""

    GLOO = "gloo"
    NCCL = "nccl"

    @classmethod
    def parse(cls, value: str | Backend) -> Backend:
        """The backend named `value` (case-insensitive; Ray's `torch_gloo` means gloo)."""
        name = str(value.value if isinstance(value, Backend) else value).lower()
        if name in ("torch_gloo", "pygloo"):
            name = "gloo"
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"Unknown collective backend {value!r}: use 'gloo' or 'nccl'.") from None
