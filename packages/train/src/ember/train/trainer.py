"""DataParallelTrainer: run a training function on a group of workers (the base of
TorchTrainer and the other framework trainers)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import cloudpickle

import ember
from ember.train.backend import BackendConfig
from ember.train.checkpoint import Checkpoint
from ember.train.config import DataConfig, RunConfig, ScalingConfig
from ember.train.controller import STATE_FILE, TrainController
from ember.train.result import Result
from ember.train.storage import StorageContext

__all__ = ["DataParallelTrainer"]

TRAINER_FILE = "trainer.pkl"

logger = logging.getLogger(__name__)


class DataParallelTrainer:
    """Runs `train_loop_per_worker(train_loop_config)` on every worker of the group.

    fit() blocks until every worker's loop has returned and gives a Result. A run whose
    folder (storage_path/name) already holds state continues from its latest checkpoint.
    """

    _default_backend_config: type[BackendConfig] = BackendConfig

    def __init__(self, train_loop_per_worker: Callable[..., Any], *,
                 train_loop_config: dict[str, Any] | None = None,
                 backend_config: BackendConfig | None = None,
                 scaling_config: ScalingConfig | None = None,
                 run_config: RunConfig | None = None,
                 datasets: dict[str, Any] | None = None,
                 dataset_config: DataConfig | None = None,
                 resume_from_checkpoint: Checkpoint | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        if not callable(train_loop_per_worker):
            raise TypeError("train_loop_per_worker must be a function, got "
                            f"{type(train_loop_per_worker).__name__}.")
        if train_loop_config is not None and not isinstance(train_loop_config, dict):
            raise TypeError("train_loop_config must be a dict.")
        self.train_loop_per_worker = train_loop_per_worker
        self.train_loop_config = train_loop_config
        self.backend_config = backend_config or self._default_backend_config()
        self.scaling_config = scaling_config or ScalingConfig()
        self.run_config = run_config or RunConfig()
        self.datasets = dict(datasets or {})
        self.dataset_config = dataset_config or DataConfig()
        self.resume_from_checkpoint = resume_from_checkpoint
        self.metadata = metadata or {}
        if not isinstance(self.scaling_config, ScalingConfig):
            raise TypeError("scaling_config must be an ember.train.ScalingConfig.")
        if not isinstance(self.run_config, RunConfig):
            raise TypeError("run_config must be an ember.train.RunConfig.")

    # -- running --------------------------------------------------------------------------
    def _storage(self) -> StorageContext:
        rc = self.run_config
        if rc.name is None:
            rc.name = f"{type(self).__name__}_{datetime.now():%Y-%m-%d_%H-%M-%S-%f}"
        if rc.storage_filesystem is not None:
            if rc.storage_path is None:
                raise ValueError("RunConfig(storage_filesystem=...) needs a storage_path on it.")
            return StorageContext(os.fspath(rc.storage_path), rc.name, rc.storage_filesystem)
        return StorageContext(rc.resolved_storage_path(), rc.name)

    def fit(self) -> Result:
        """Run training to the end; raises TrainingFailedError when it cannot."""
        if not ember.is_initialized():
            ember.init()
        storage = self._storage()
        storage.makedirs()
        self._save(storage)
        return TrainController(self, storage).run()

    def _dataset_shards(self, num_workers: int) -> dict[str, list[Any]]:
        """Each dataset as one iterator per worker (split, or whole for each)."""
        out: dict[str, list[Any]] = {}
        for name, ds in self.datasets.items():
            if self.dataset_config.should_split(name):
                out[name] = ds.streaming_split(num_workers, equal=self.dataset_config.equal)
            else:
                out[name] = [ds.iterator() for _ in range(num_workers)]
        return out

    def _save(self, storage: StorageContext) -> None:
        saved = dict(self.__dict__)
        saved["datasets"] = {k: None for k in self.datasets}
        saved.pop("_placement_group", None)
        try:
            data = cloudpickle.dumps(saved)
        except Exception as e:  # noqa: BLE001 - the run itself can go on
            logger.warning("This run cannot be restored with %s.restore(): its trainer does "
                           "not pickle (%s: %s)", type(self).__name__, type(e).__name__, e)
            return
        storage.write_bytes(TRAINER_FILE, data)

    # -- restore --------------------------------------------------------------------------
    @classmethod
    def can_restore(cls, path: str | os.PathLike, storage_filesystem: Any = None) -> bool:
        """Whether `path` (a run folder) holds a run that restore() can continue."""
        storage = _storage_at(os.fspath(path), storage_filesystem)
        return storage.exists(TRAINER_FILE) and storage.exists(STATE_FILE)

    @classmethod
    def restore(cls, path: str | os.PathLike, datasets: dict[str, Any] | None = None,
                storage_filesystem: Any = None, **overrides: Any) -> DataParallelTrainer:
        """A trainer that continues the run saved at `path` from its latest checkpoint.

        Datasets are not saved with the run: pass them again. Other constructor
        arguments (e.g. train_loop_per_worker) may be overridden by keyword.
        """
        storage = _storage_at(os.fspath(path), storage_filesystem)
        if not cls.can_restore(path, storage_filesystem):
            raise ValueError(f"Cannot restore a training run from {os.fspath(path)!r}: no "
                             f"{TRAINER_FILE} and {STATE_FILE} there.")
        saved = cloudpickle.loads(storage.read_bytes(TRAINER_FILE))
        missing = sorted(set(saved["datasets"]) - set(datasets or {}))
        if missing:
            raise ValueError(f"The run used datasets {missing}: pass them to restore(path, "
                             f"datasets=...).")
        trainer = cls.__new__(cls)
        trainer.__dict__.update(saved)
        trainer.datasets = dict(datasets or {})
        for key, value in overrides.items():
            if key not in saved:
                raise TypeError(f"restore() got an unexpected argument {key!r}.")
            setattr(trainer, key, value)
        rc = trainer.run_config
        rc.name = storage.name
        rc.storage_path = storage.storage_path
        rc.storage_filesystem = storage_filesystem
        return trainer

    # -- Tune -----------------------------------------------------------------------------
    def as_trainable(self) -> type:
        """A Tune trainable running this trainer per trial; the trial's config entries
        replace the trainer's arguments ({"train_loop_config": {...}} is merged)."""
        from ember.train._tune import trainable_for

        return trainable_for(self)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(scaling_config={self.scaling_config!r}, "
                f"run_config={self.run_config!r})")


def _storage_at(path: str, filesystem: Any) -> StorageContext:
    if filesystem is not None:
        parent, name = os.path.split(path.rstrip("/"))
        return StorageContext(parent, name, filesystem)
    if "://" not in path:
        path = os.path.abspath(os.path.expanduser(path))
    import fsspec

    fs, root = fsspec.core.url_to_fs(path)
    root = root.rstrip("/")
    parent, name = os.path.split(root)
    return StorageContext(parent, name, fs)
