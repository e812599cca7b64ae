"""XGBoostTrainer: each worker trains inside xgboost's collective communicator, whose
tracker runs on rank 0's node."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from typing import Any

import xgboost

from ember import train
from ember.train._worker import takes_config
from ember.train.backend import BackendConfig
from ember.train.checkpoint import Checkpoint
from ember.train.config import DataConfig, RunConfig, ScalingConfig
from ember.train.trainer import DataParallelTrainer

__all__ = ["RayTrainReportCallback", "XGBoostConfig", "XGBoostTrainer"]

MODEL_FILE = "model.ubj"
_state: dict[str, Any] = {}


def _start_tracker(host: str, world_size: int, timeout_s: int) -> dict[str, Any]:
    """On rank 0: start the collective tracker; returns the workers' connection args."""
    from xgboost.tracker import RabitTracker

    tracker = RabitTracker(n_workers=world_size, host_ip=host, sortby="task",
                           timeout=timeout_s)
    tracker.start()
    _state["tracker"] = tracker
    return dict(tracker.worker_args())


def _set_args(args: dict[str, Any], rank: int) -> None:
    _state["args"] = {**args, "dmlc_task_id": str(rank)}


def _free_tracker() -> None:
    tracker = _state.pop("tracker", None)
    if tracker is not None:
        tracker.free()
    _state.pop("args", None)


@dataclasses.dataclass
class XGBoostConfig(BackendConfig):
    """timeout_s bounds the communicator's set-up and its collective operations."""

    timeout_s: int = 1800

    def on_start(self, group: Any) -> None:
        import ember

        n = len(group)
        host = group.infos[0].node_ip
        args = ember.get(group.workers[0].execute.remote(_start_tracker, host, n,
                                                         self.timeout_s))
        group.execute_each(_set_args, [(args, r) for r in range(n)])

    def on_shutdown(self, group: Any) -> None:
        try:
            group.execute(_free_tracker)
        except Exception:  # noqa: BLE001 - the workers are removed next anyway
            pass


class _InCommunicator:
    """The user's loop, run inside xgboost's collective communicator."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.takes_config = takes_config(fn)

    def __call__(self, config: dict[str, Any]) -> Any:
        with xgboost.collective.CommunicatorContext(**_state["args"]):
            return self.fn(config) if self.takes_config else self.fn()


class RayTrainReportCallback(xgboost.callback.TrainingCallback):
    """Reports the latest evaluation metrics after each boosting round, with a
    checkpoint (the model in `model.ubj`) every `frequency` rounds and at the end."""

    def __init__(self, metrics: str | list[str] | dict[str, str] | None = None,
                 filename: str = MODEL_FILE, frequency: int = 0,
                 checkpoint_at_end: bool = True) -> None:
        self.metrics = [metrics] if isinstance(metrics, str) else metrics
        self.filename = filename
        self.frequency = frequency
        self.checkpoint_at_end = checkpoint_at_end
        self._last: dict[str, Any] = {}
        self._saved_round = -1

    @classmethod
    def get_model(cls, checkpoint: Checkpoint, filename: str = MODEL_FILE) -> xgboost.Booster:
        """The Booster stored in a checkpoint this callback reported."""
        booster = xgboost.Booster()
        with checkpoint.as_directory() as d:
            booster.load_model(os.path.join(d, filename))
        return booster

    def _metrics(self, evals_log: dict) -> dict[str, Any]:
        flat = {f"{data}-{name}": float(values[-1]) for data, scores in evals_log.items()
                for name, values in scores.items()}
        if self.metrics is None:
            return flat
        if isinstance(self.metrics, dict):
            return {k: flat[v] for k, v in self.metrics.items() if v in flat}
        return {k: flat[k] for k in self.metrics if k in flat}

    def _report(self, model: Any, metrics: dict[str, Any], with_checkpoint: bool) -> None:
        if not with_checkpoint:
            train.report(metrics)
            return
        with tempfile.TemporaryDirectory() as d:
            checkpoint = None
            if xgboost.collective.get_rank() == 0:
                model.save_model(os.path.join(d, self.filename))
                checkpoint = Checkpoint.from_directory(d)
            train.report(metrics, checkpoint=checkpoint)

    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        self._last = dict(self._metrics(evals_log), iteration=epoch + 1)
        save = bool(self.frequency) and (epoch + 1) % self.frequency == 0
        if save:
            self._saved_round = epoch
        self._report(model, self._last, save)
        return False

    def after_training(self, model: Any) -> Any:
        last_round = model.num_boosted_rounds() - 1
        if self.checkpoint_at_end and self._saved_round != last_round:
            self._report(model, self._last, True)
        return model


def _default_loop(config: dict[str, Any]) -> None:
    """Ray's legacy form: train on the "train" dataset, evaluate on the others."""
    label = config["label_column"]
    evals, dtrain = [], None
    for name in config["dataset_names"]:
        df = train.get_dataset_shard(name).materialize().to_pandas()
        dm = xgboost.DMatrix(df.drop(columns=[label]), df[label])
        if name == "train":
            dtrain = dm
        evals.append((dm, name))
    if dtrain is None:
        raise ValueError('XGBoostTrainer(params=...) needs datasets={"train": ...}.')
    xgboost.train(config["params"], dtrain, num_boost_round=config["num_boost_round"],
                  evals=evals, callbacks=[RayTrainReportCallback()])


class XGBoostTrainer(DataParallelTrainer):
    """Distributed XGBoost: `train_loop_per_worker` calls xgboost.train() and reports with
    RayTrainReportCallback; or Ray's legacy form, XGBoostTrainer(params=...,
    label_column=..., num_boost_round=..., datasets={"train": ...})."""

    _default_backend_config = XGBoostConfig

    def __init__(self, train_loop_per_worker: Callable[..., Any] | None = None, *,
                 train_loop_config: dict[str, Any] | None = None,
                 xgboost_config: XGBoostConfig | None = None,
                 scaling_config: ScalingConfig | None = None,
                 run_config: RunConfig | None = None,
                 datasets: dict[str, Any] | None = None,
                 dataset_config: DataConfig | None = None,
                 resume_from_checkpoint: Checkpoint | None = None,
                 metadata: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None, label_column: str | None = None,
                 num_boost_round: int = 10) -> None:
        if train_loop_per_worker is None:
            if params is None or label_column is None:
                raise ValueError("XGBoostTrainer needs train_loop_per_worker, or params and "
                                 "label_column (legacy form).")
            train_loop_per_worker = _default_loop
            train_loop_config = {"params": params, "label_column": label_column,
                                 "num_boost_round": num_boost_round,
                                 "dataset_names": sorted(datasets or {})}
        super().__init__(_InCommunicator(train_loop_per_worker),
                         train_loop_config=train_loop_config,
                         backend_config=xgboost_config or XGBoostConfig(),
                         scaling_config=scaling_config, run_config=run_config,
                         datasets=datasets, dataset_config=dataset_config,
                         resume_from_checkpoint=resume_from_checkpoint, metadata=metadata)

    @classmethod
    def get_model(cls, checkpoint: Checkpoint, filename: str = MODEL_FILE) -> xgboost.Booster:
        """The Booster stored in a checkpoint of this trainer."""
        return RayTrainReportCallback.get_model(checkpoint, filename)
