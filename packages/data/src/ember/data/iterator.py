"""DataIterator: batches and rows out of a stream of blocks, with prefetching.

A Dataset's iterator executes the dataset; a streaming_split iterator asks the split
coordinator for its next blocks. Either way, blocks are fetched zero-copy from the
object store by a prefetch thread while the caller works on the current batch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from ember.data import _block
from ember.data._transforms import _batches

__all__ = ["DataIterator"]

_END = object()


def _cancel(blocks: Any) -> None:
    cancel = getattr(blocks, "cancel", None)
    if cancel is not None:
        cancel()


def _prefetch(blocks: Iterable[pa.Table], depth: int) -> Iterator[pa.Table]:
    """Run `blocks` in a thread, keeping up to `depth` fetched blocks ready.

    When the caller stops early, the underlying execution is cancelled (its executor
    shut down) and the thread ends, so nothing keeps running in the background.
    """
    if depth <= 0:
        try:
            yield from blocks
        finally:
            _cancel(blocks)
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        try:
            for b in blocks:
                if not put(b):
                    return
            put(_END)
        except BaseException as e:  # noqa: BLE001 - re-raised in the consumer
            put(e)

    t = threading.Thread(target=worker, name="ember-data-prefetch", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        _cancel(blocks)
        t.join(timeout=10)


def _local_shuffle(blocks: Iterator[pa.Table], buffer_size: int, batch_size: int | None,
                   seed: int | None) -> Iterator[pa.Table]:
    rng = np.random.default_rng(seed)
    buf: list[pa.Table] = []
    rows = 0
    size = batch_size or 256
    for b in blocks:
        buf.append(b)
        rows += b.num_rows
        while rows >= buffer_size + size:
            table = _block.concat(buf)
            perm = rng.permutation(table.num_rows)
            yield table.take(pa.array(perm[:size]))
            rest = table.take(pa.array(np.sort(perm[size:])))
            buf, rows = [rest], rest.num_rows
    if rows:
        table = _block.concat(buf)
        yield table.take(pa.array(rng.permutation(table.num_rows)))


class DataIterator:
    """Iterate a dataset (or one split of it) as batches or rows, possibly many times."""

    def _iter_blocks(self) -> Iterator[pa.Table]:
        raise NotImplementedError

    def iter_batches(self, *, prefetch_batches: int = 1, batch_size: int | None = 256,
                     batch_format: str | None = "default", drop_last: bool = False,
                     local_shuffle_buffer_size: int | None = None,
                     local_shuffle_seed: int | None = None,
                     _collate_fn: Callable[[Any], Any] | None = None) -> Iterable[Any]:
        """Batches of `batch_size` rows (None: whole blocks) in `batch_format`."""
        fmt = _block.normalize_batch_format(batch_format)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}.")
        return _BatchIterable(self, prefetch_batches, batch_size, fmt, drop_last,
                              local_shuffle_buffer_size, local_shuffle_seed, _collate_fn)

    def iter_rows(self, *, prefetch_batches: int = 1) -> Iterable[dict]:
        """Rows as dicts of Python values."""
        for block in _prefetch(self._iter_blocks(), prefetch_batches):
            yield from _block.iter_rows(block)

    def iter_torch_batches(self, *, prefetch_batches: int = 1, batch_size: int | None = 256,
                           dtypes: Any = None, device: str = "auto",
                           collate_fn: Callable[[Any], Any] | None = None,
                           drop_last: bool = False,
                           local_shuffle_buffer_size: int | None = None,
                           local_shuffle_seed: int | None = None) -> Iterable[Any]:
        """Batches as dicts of torch tensors (needs torch)."""
        try:
            import torch
        except ImportError as e:
            raise ImportError("iter_torch_batches needs torch: pip install "
                              "'ember-data[torch]'") from e
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() and _in_gpu_worker() else "cpu"
        fmt = "pyarrow" if collate_fn is not None else "numpy"
        batches = self.iter_batches(prefetch_batches=prefetch_batches, batch_size=batch_size,
                                    batch_format=fmt, drop_last=drop_last,
                                    local_shuffle_buffer_size=local_shuffle_buffer_size,
                                    local_shuffle_seed=local_shuffle_seed)
        for batch in batches:
            if collate_fn is not None:
                yield collate_fn(batch)
                continue
            out = {}
            for k, v in batch.items():
                if isinstance(v, np.ndarray) and v.dtype != object:
                    if not v.flags.writeable:
                        v = v.copy()
                    dtype = dtypes.get(k) if isinstance(dtypes, dict) else dtypes
                    out[k] = torch.as_tensor(v, dtype=dtype, device=device)
                else:
                    out[k] = v
            yield out

    def materialize(self) -> Any:
        """The blocks of this iterator as a MaterializedDataset."""
        from ember.data._metadata import RefBundle, put_block
        from ember.data.dataset import MaterializedDataset

        bundles = [RefBundle([put_block(b)], False, i)
                   for i, b in enumerate(self._iter_blocks())]
        return MaterializedDataset.from_bundles(bundles)

    def stats(self) -> str:
        return ""


def _in_gpu_worker() -> bool:
    try:
        import ember

        return bool(ember.get_gpu_ids())
    except Exception:  # noqa: BLE001
        return False


class _BatchIterable:
    """Re-iterable: each iteration runs the stream again (one epoch)."""

    def __init__(self, it: DataIterator, prefetch: int, batch_size: int | None, fmt: str,
                 drop_last: bool, shuffle_buffer: int | None, shuffle_seed: int | None,
                 collate: Callable | None) -> None:
        self.it, self.prefetch, self.batch_size, self.fmt = it, prefetch, batch_size, fmt
        self.drop_last, self.shuffle_buffer, self.shuffle_seed = drop_last, shuffle_buffer, \
            shuffle_seed
        self.collate = collate

    def __iter__(self) -> Iterator[Any]:
        blocks = _prefetch(self.it._iter_blocks(), self.prefetch)
        if self.shuffle_buffer:
            blocks = _local_shuffle(blocks, self.shuffle_buffer, self.batch_size,
                                    self.shuffle_seed)
        for b in _batches(blocks, self.batch_size):
            if b.num_rows == 0:
                continue
            if self.drop_last and self.batch_size and b.num_rows < self.batch_size:
                return
            batch = _block.block_to_batch(b, self.fmt)
            yield self.collate(batch) if self.collate is not None else batch
