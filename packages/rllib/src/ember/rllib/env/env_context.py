"""EnvContext: the env_config dict handed to env creators, plus where the env runs."""

from __future__ import annotations

from typing import Any

__all__ = ["EnvContext"]


class EnvContext(dict):
    """A dict (the user's env_config) with worker_index, vector_index and num_workers."""

    def __init__(self, env_config: dict[str, Any] | None, worker_index: int = 0,
                 vector_index: int = 0, num_workers: int = 0) -> None:
        super().__init__(env_config or {})
        self.worker_index = worker_index
        self.vector_index = vector_index
        self.num_workers = num_workers
