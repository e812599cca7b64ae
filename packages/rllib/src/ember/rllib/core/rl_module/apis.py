"""Optional capabilities an RLModule declares by subclassing (RLlib's `apis`)."""

from __future__ import annotations

import abc
from typing import Any

__all__ = ["ValueFunctionAPI"]


class ValueFunctionAPI(abc.ABC):
    """A module with a state-value head: compute_values(batch) -> tensor [B]."""

    @abc.abstractmethod
    def compute_values(self, batch: dict[str, Any]) -> Any:
        """State values of batch["obs"]."""
