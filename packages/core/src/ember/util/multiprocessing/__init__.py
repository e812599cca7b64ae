"""A drop-in for multiprocessing.Pool whose processes are ember actors."""

from ember.util.multiprocessing.pool import AsyncResult, Pool, TimeoutError

__all__ = ["AsyncResult", "Pool", "TimeoutError"]
