"""What the training loop sees on a worker: report(), get_checkpoint(), get_context(),
get_dataset_shard().

A worker process runs one training loop at a time, so its session is process-wide.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import deque
from typing import Any

from ember.train._messages import Report, RunSpec
from ember.train.checkpoint import Checkpoint
from ember.train.storage import StorageContext, upload_dir

__all__ = ["TrainContext", "get_checkpoint", "get_context", "get_dataset_shard", "report"]

CHECKPOINT_PREFIX = "checkpoint_"
STAGING_DIR = ".staging"


def checkpoint_dir_name(index: int) -> str:
    return f"{CHECKPOINT_PREFIX}{index:06d}"


class _Session:
    """One worker's part of a run: its rank, storage and the reports not yet collected.

    report() copies a checkpoint to local disk and queues it; a background thread uploads
    queued checkpoints in order and only then hands the report to the driver, so reports
    reach the driver in the order they were made.
    """

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.storage = StorageContext(spec.storage_path, spec.run_name, spec.storage_filesystem)
        self.next_index = spec.first_report_index
        self._outbox: deque = deque()
        self._ready: list[Report] = []
        self._cond = threading.Condition()
        self._uploader = threading.Thread(target=self._upload_loop, daemon=True,
                                          name="ember-train-upload")
        self._closed = False
        self._uploader.start()

    # -- the training thread --------------------------------------------------------------
    def report(self, metrics: dict[str, Any], checkpoint: Checkpoint | None) -> None:
        index = self.next_index
        self.next_index += 1
        staged = self._stage(checkpoint, index) if checkpoint is not None else None
        with self._cond:
            self._outbox.append((index, dict(metrics), staged))
            self._cond.notify_all()

    def _stage(self, checkpoint: Checkpoint, index: int) -> str:
        """A private local copy of the checkpoint's files (the only blocking part)."""
        if self.storage.local:
            root = self.storage.join(STAGING_DIR)
            os.makedirs(root, exist_ok=True)
        else:
            root = None
        staged = tempfile.mkdtemp(prefix=f"{index:06d}_r{self.spec.world_rank}_", dir=root)
        checkpoint.to_directory(staged)
        return staged

    # -- the upload thread ----------------------------------------------------------------
    def _upload_loop(self) -> None:
        while True:
            with self._cond:
                while not self._outbox and not self._closed:
                    self._cond.wait()
                if not self._outbox:
                    return
                index, metrics, staged = self._outbox[0]
            path, error = None, None
            if staged is not None:
                path = self.storage.join(checkpoint_dir_name(index))
                try:
                    self._persist(staged, path)
                except Exception as e:  # noqa: BLE001 - reported to the driver
                    error = f"{type(e).__name__}: {e}"
                finally:
                    shutil.rmtree(staged, ignore_errors=True)
            with self._cond:
                self._outbox.popleft()
                self._ready.append(Report(index, metrics, path, error))
                self._cond.notify_all()

    def _persist(self, staged: str, dest: str) -> None:
        if self.storage.local:
            try:
                os.rename(staged, dest)  # same filesystem: no second copy
                return
            except OSError:
                pass  # another rank made it first: merge our files into it
        upload_dir(staged, self.storage.filesystem, dest)

    # -- the driver's poll ----------------------------------------------------------------
    def take_reports(self, timeout: float | None, finished: threading.Event) -> list[Report]:
        """Reports ready for the driver; waits up to `timeout` for one, or for the end."""
        with self._cond:
            if not self._ready and not finished.is_set():
                self._cond.wait(timeout)
            out, self._ready = self._ready, []
            return out

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def drain(self) -> list[Report]:
        """Wait for every queued upload, then return what is left for the driver."""
        with self._cond:
            while self._outbox:
                self._cond.wait()
            out, self._ready = self._ready, []
            return out

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


_session: _Session | None = None


def _set_session(session: _Session | None) -> None:
    global _session
    _session = session


def _current() -> _Session:
    if _session is None:
        raise RuntimeError("This function can only be called from a training function run by "
                           "an ember.train trainer (e.g. TorchTrainer(train_loop_per_worker)).")
    return _session


def report(metrics: dict[str, Any], checkpoint: Checkpoint | None = None,
           checkpoint_dir_name: str | None = None) -> None:
    """Report metrics (and optionally a checkpoint directory) from every worker.

    Returns once the checkpoint's files are copied to local disk; their upload to storage
    runs in the background and a failed upload fails the run (never silently). The
    driver keeps rank 0's metrics; every rank's checkpoint files are merged into
    storage_path/name/checkpoint_NNNNNN.
    """
    if not isinstance(metrics, dict):
        raise TypeError(f"report() expects a dict of metrics, got {type(metrics).__name__}.")
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        raise TypeError("checkpoint must be an ember.train.Checkpoint "
                        "(e.g. Checkpoint.from_directory(path)).")
    _current().report(metrics, checkpoint)


def get_checkpoint() -> Checkpoint | None:
    """The checkpoint to resume from: the latest reported one after a restart, the one
    passed as resume_from_checkpoint, or None."""
    return _current().spec.checkpoint


def get_dataset_shard(dataset_name: str | None = None) -> Any:
    """This worker's part of the dataset passed to the trainer as datasets[name]
    (a DataIterator: iter_batches, iter_torch_batches, …)."""
    shards = _current().spec.dataset_shards
    if dataset_name is None:
        if len(shards) != 1:
            raise ValueError(f"Name the dataset: this run has {sorted(shards)}.")
        dataset_name = next(iter(shards))
    try:
        return shards[dataset_name]
    except KeyError:
        raise KeyError(f"No dataset named {dataset_name!r} was passed to the trainer; it has "
                       f"{sorted(shards)}.") from None


class TrainContext:
    """Ranks, sizes and names of the running worker."""

    def __init__(self, session: _Session) -> None:
        self._s = session

    def get_world_rank(self) -> int:
        return self._s.spec.world_rank

    def get_world_size(self) -> int:
        return self._s.spec.world_size

    def get_local_rank(self) -> int:
        return self._s.spec.local_rank

    def get_local_world_size(self) -> int:
        return self._s.spec.local_world_size

    def get_node_rank(self) -> int:
        return self._s.spec.node_rank

    def get_experiment_name(self) -> str:
        return self._s.spec.experiment_name

    def get_trial_name(self) -> str:
        return self._s.spec.run_name

    def get_trial_id(self) -> str:
        return self._s.spec.run_name

    def get_trial_dir(self) -> str:
        return self._s.storage.run_path

    def get_storage(self) -> StorageContext:
        return self._s.storage

    def get_attempt(self) -> int:
        """How many times the worker group was restarted before this one (0 at first)."""
        return self._s.spec.attempt


def get_context() -> TrainContext:
    """The running worker's TrainContext."""
    return TrainContext(_current())
