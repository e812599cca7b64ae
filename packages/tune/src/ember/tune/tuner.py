"""Tuner: configure an experiment, run it with fit(), resume it with Tuner.restore()."""

from __future__ import annotations

import copy
import inspect
import logging
import os
import time
import warnings
from datetime import datetime
from typing import Any

import ember
from ember.tune.config import RunConfig
from ember.tune.execution import state as state_file
from ember.tune.experiment.trial import Trial
from ember.tune.logger.csv_logger import CSVLoggerCallback
from ember.tune.logger.json_logger import JsonLoggerCallback
from ember.tune.logger.tensorboard import TBXLoggerCallback, tensorboard_available
from ember.tune.progress_reporter import CLIReporter
from ember.tune.registry import get_trainable
from ember.tune.result_grid import ResultGrid
from ember.tune.schedulers.trial_scheduler import FIFOScheduler
from ember.tune.search.basic_variant import BasicVariantGenerator
from ember.tune.search.concurrency_limiter import ConcurrencyLimiter
from ember.tune.search.search_algorithm import SearchAlgorithm, SearchGenerator
from ember.tune.search.searcher import Searcher
from ember.tune.stopper import make_stopper
from ember.tune.trainable.function_trainable import wrap_function
from ember.tune.trainable.trainable import Trainable
from ember.tune.tune_config import TuneConfig

__all__ = ["Tuner"]

logger = logging.getLogger(__name__)


class Tuner:
    """Runs a hyperparameter search over `param_space` with `trainable`.

    trainable: a function `fn(config)` that calls ember.tune.report(), a Trainable
    subclass, or the name of a registered trainable. fit() returns a ResultGrid.
    """

    def __init__(self, trainable: Any = None, *, param_space: dict[str, Any] | None = None,
                 tune_config: TuneConfig | None = None,
                 run_config: RunConfig | None = None) -> None:
        if trainable is None:
            raise ValueError("Tuner needs a trainable: a function, a Trainable class or the "
                             "name of a registered trainable.")
        if param_space is not None and not isinstance(param_space, dict) and \
                callable(getattr(param_space, "to_dict", None)):
            param_space = param_space.to_dict()  # an RLlib AlgorithmConfig, as Ray takes
        if param_space is not None and not isinstance(param_space, dict):
            raise TypeError(f"param_space must be a dict, got {type(param_space).__name__}.")
        self._trainable = trainable
        self._param_space = param_space or {}
        self._tune_config = tune_config or TuneConfig()
        self._run_config = run_config or RunConfig()
        self._restored: dict[str, Any] | None = None
        self._experiment_path: str | None = None
        self._results: ResultGrid | None = None

    # ----- restore ----------------------------------------------------------------------
    @classmethod
    def can_restore(cls, path: str | os.PathLike) -> bool:
        """True if `path` holds an experiment that Tuner.restore() can resume."""
        path = os.path.expanduser(os.fspath(path))
        return os.path.exists(os.path.join(path, state_file.TUNER_FILE)) and \
            os.path.exists(os.path.join(path, state_file.STATE_FILE))

    @classmethod
    def restore(cls, path: str | os.PathLike, trainable: Any, resume_unfinished: bool = True,
                resume_errored: bool = False, restart_errored: bool = False,
                param_space: dict[str, Any] | None = None) -> Tuner:
        """A Tuner that continues the experiment saved in `path`.

        Finished trials are kept as they are. Unfinished ones resume from their latest
        checkpoint (resume_unfinished=False marks them terminated instead); errored ones
        stay errored unless resume_errored (from their checkpoint) or restart_errored
        (from scratch). Pass the same trainable as the original run.
        """
        path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if not cls.can_restore(path):
            raise ValueError(f"Cannot restore an experiment from {path!r}: no "
                             f"{state_file.TUNER_FILE} and {state_file.STATE_FILE} there.")
        saved = state_file.read(os.path.join(path, state_file.TUNER_FILE))
        experiment = state_file.load_experiment_state(path)
        run_config = copy.copy(saved["run_config"])
        run_config.name = os.path.basename(path)
        run_config.storage_path = os.path.dirname(path)
        tuner = cls(trainable, param_space=param_space or saved["param_space"],
                    tune_config=saved["tune_config"], run_config=run_config)
        trials = []
        for st in experiment["trials"]:
            trial = Trial.from_state(st)
            trial.experiment_path = path
            _prepare_restored(trial, resume_unfinished, resume_errored, restart_errored)
            trials.append(trial)
        tuner._restored = {"trials": trials, "search_alg": experiment["search_alg"],
                           "uid": experiment.get("uid"),
                           "next_index": experiment.get("next_index", len(trials))}
        return tuner

    # ----- running ----------------------------------------------------------------------
    def fit(self) -> ResultGrid:
        """Run the experiment and return its results.

        A trial's own errors land in ResultGrid.errors; errors of Tune itself raise.
        Ctrl-C stops the run, saves its state and returns the results so far
        (resume with Tuner.restore(results.experiment_path, trainable)).
        """
        if not ember.is_initialized():
            ember.init()
        tc, rc = self._tune_config, self._run_config
        trainable_cls, name = _resolve_trainable(self._trainable)
        cc = rc.checkpoint_config
        if trainable_cls._is_function_trainable and (cc.checkpoint_frequency or
                                                    cc.checkpoint_at_end):
            raise ValueError("CheckpointConfig(checkpoint_frequency, checkpoint_at_end) apply to "
                             "class Trainables only: a function trainable saves checkpoints "
                             "with ember.tune.report(metrics, checkpoint=...).")
        metric, mode = tc.metric, tc.mode
        experiment_name = rc.name or f"{name}_{datetime.now():%Y-%m-%d_%H-%M-%S}"
        experiment_path = os.path.join(rc.resolved_storage_path(), experiment_name)
        os.makedirs(experiment_path, exist_ok=True)
        self._experiment_path = experiment_path
        search_alg = self._search_alg(metric, mode)
        scheduler = tc.scheduler or FIFOScheduler()
        if not scheduler.set_search_properties(metric, mode):
            raise ValueError(f"The metric/mode of {type(scheduler).__name__} "
                             f"({scheduler.metric}, {scheduler.mode}) conflict with "
                             f"TuneConfig's ({metric}, {mode}): set them in one place only.")
        metric = metric or scheduler.metric or search_alg.metric
        mode = mode or scheduler.mode or search_alg.mode
        if self._restored is None:
            self._save_tuner_file(experiment_path)
        verbose = 1 if rc.verbose is None else rc.verbose
        reporter = rc.progress_reporter
        if reporter is None and verbose >= 1:
            reporter = CLIReporter(metric=metric, mode=mode)
        restored = self._restored or {}
        controller_cls = _controller_cls()
        controller = controller_cls(
            trainable_cls=trainable_cls, trainable_ref=ember.put(trainable_cls),
            trainable_name=name, search_alg=search_alg, scheduler=scheduler,
            stopper=make_stopper(rc.stop), callbacks=_callbacks(rc.callbacks),
            reporter=reporter, experiment_path=experiment_path,
            experiment_name=experiment_name, checkpoint_config=rc.checkpoint_config,
            failure_config=rc.failure_config, metric=metric, mode=mode,
            max_concurrent=tc.max_concurrent_trials,
            reuse_actors=True if tc.reuse_actors is None else tc.reuse_actors,
            time_budget_s=tc.time_budget_s, verbose=verbose,
            trial_name_creator=tc.trial_name_creator,
            trial_dirname_creator=tc.trial_dirname_creator,
            trials=restored.get("trials"), experiment_uid=restored.get("uid"),
            next_index=restored.get("next_index", 0), log_to_file=rc.log_to_file)
        try:
            controller.run()
        except KeyboardInterrupt:
            warnings.warn(f"The experiment was interrupted; its state is saved. Resume with "
                          f"Tuner.restore({experiment_path!r}, trainable=...).", stacklevel=2)
        self._results = ResultGrid(controller.get_trials(), experiment_path, metric, mode)
        return self._results

    def get_results(self) -> ResultGrid:
        """The results of fit(), or of the experiment this Tuner was restored from."""
        if self._results is not None:
            return self._results
        if self._restored is not None:
            path = self._restored["trials"][0].experiment_path if self._restored["trials"] \
                else ""
            tc = self._tune_config
            return ResultGrid(self._restored["trials"], path, tc.metric, tc.mode)
        raise RuntimeError("No results yet: call fit() first.")

    def _search_alg(self, metric: str | None, mode: str | None) -> SearchAlgorithm:
        tc = self._tune_config
        alg = tc.search_alg
        if alg is None:
            alg = BasicVariantGenerator(max_concurrent=tc.max_concurrent_trials or 0)
        elif isinstance(alg, Searcher):
            if tc.max_concurrent_trials and not isinstance(alg, ConcurrencyLimiter):
                alg = ConcurrencyLimiter(alg, tc.max_concurrent_trials)
            alg = SearchGenerator(alg)
        elif not isinstance(alg, SearchAlgorithm):
            raise TypeError(f"search_alg must be a Searcher or SearchAlgorithm, got "
                            f"{type(alg).__name__}.")
        if alg.metric and metric and alg.metric != metric:
            raise ValueError(f"The metric of {type(alg).__name__} ({alg.metric!r}) differs from "
                             f"TuneConfig's ({metric!r}): set it in one place only.")
        if not alg.set_search_properties(metric, mode, dict(self._param_space),
                                         num_samples=tc.num_samples):
            raise ValueError(f"{type(alg).__name__} refused the search space or metric.")
        if self._restored is not None and self._restored.get("search_alg") is not None:
            alg.set_state(self._restored["search_alg"])
        return alg

    def _save_tuner_file(self, experiment_path: str) -> None:
        """Write tuner.pkl for Tuner.restore(); without callbacks if they cannot be pickled."""
        path = os.path.join(experiment_path, state_file.TUNER_FILE)
        rc = copy.copy(self._run_config)
        for attempt in range(2):
            try:
                state_file.write_atomic(path, {
                    "param_space": self._param_space, "tune_config": self._tune_config,
                    "run_config": rc, "saved_at": time.time()})
                return
            except Exception as e:  # noqa: BLE001 - e.g. an unpicklable callback or object
                if attempt == 0:
                    rc = copy.copy(rc)
                    rc.callbacks, rc.progress_reporter = None, None
                    continue
                logger.warning("Could not save the Tuner settings (%s: %s); this run cannot "
                               "be restored with Tuner.restore().", type(e).__name__, e)


def _controller_cls() -> Any:
    from ember.tune.execution.controller import TuneController

    return TuneController


def _resolve_trainable(trainable: Any) -> tuple[type[Trainable], str]:
    if isinstance(trainable, str):
        trainable = get_trainable(trainable)
    if inspect.isclass(trainable):
        if not issubclass(trainable, Trainable):
            if hasattr(trainable, "as_trainable"):
                cls = trainable.as_trainable()
                return cls, cls.__name__
            raise TypeError(f"A trainable class must subclass ember.tune.Trainable, got "
                            f"{trainable.__name__}.")
        return trainable, trainable.__name__
    if hasattr(trainable, "as_trainable"):  # e.g. a Train trainer instance
        cls = trainable.as_trainable()
        return cls, cls.__name__
    if callable(trainable):
        name = getattr(trainable, "__name__", None) or type(trainable).__name__
        if name == "<lambda>":
            name = "lambda"
        return wrap_function(trainable, name), name
    raise TypeError(f"Cannot tune {trainable!r}: pass a function, a Trainable class or a "
                    "registered trainable name.")


def _callbacks(user: Any) -> list:
    callbacks = list(user or [])
    if os.environ.get("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS") == "1":
        return callbacks
    have = {type(c) for c in callbacks}
    defaults = []
    if JsonLoggerCallback not in have:
        defaults.append(JsonLoggerCallback())
    if CSVLoggerCallback not in have:
        defaults.append(CSVLoggerCallback())
    if TBXLoggerCallback not in have and tensorboard_available():
        defaults.append(TBXLoggerCallback())
    return defaults + callbacks


def _prepare_restored(trial: Trial, resume_unfinished: bool, resume_errored: bool,
                      restart_errored: bool) -> None:
    if trial.status == Trial.TERMINATED:
        return
    if trial.status == Trial.ERROR:
        if restart_errored:
            trial.restore_path, trial.restore_meta = None, None
            trial.latest_checkpoint = None
            trial.checkpoints = []
        elif not resume_errored:
            return
        trial.num_failures = 0
        trial.error, trial.error_msg = None, None
        trial.set_status(Trial.PENDING)
        if resume_errored and trial.latest_checkpoint:
            _restore_from_latest(trial)
        return
    if not resume_unfinished:
        trial.set_status(Trial.TERMINATED)
        return
    trial.set_status(Trial.PENDING)
    if trial.latest_checkpoint:
        _restore_from_latest(trial)


def _restore_from_latest(trial: Trial) -> None:
    path = trial.latest_checkpoint
    trial.restore_path = path
    meta = next((m for p, m in reversed(trial.checkpoints) if p == path), {})
    trial.restore_meta = {k: meta[k] for k in ("training_iteration", "time_total_s") if k in meta}

