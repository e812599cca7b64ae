"""TuneController: the experiment loop.

Each step it creates trials from the search algorithm (only as many as could start, so
adaptive searchers see the latest results), starts the ones the scheduler picks on
cached or new actors, waits for train() results and acts on them: loggers and
callbacks, stop criteria, search and scheduler decisions, checkpoints and failures.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import uuid
from typing import Any

import ember
from ember.tune.callback import CallbackList
from ember.tune.checkpoint import Checkpoint, persist_directory
from ember.tune.config import CheckpointConfig, FailureConfig
from ember.tune.error import TuneError
from ember.tune.execution.actors import ActorManager, TrialActor
from ember.tune.execution.state import save_experiment_state
from ember.tune.experiment.trial import Trial
from ember.tune.resources import PlacementGroupFactory
from ember.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler
from ember.tune.search.basic_variant import BasicVariantGenerator
from ember.tune.search.search_algorithm import SearchAlgorithm
from ember.tune.trainable.util import resource_request

logger = logging.getLogger(__name__)

_TRAIN, _STOP = "train", "stop"
_MAX_PENDING_VARIANTS = 1000
_CHECKPOINT_META_KEYS = ("training_iteration", "time_total_s")


def _state_period() -> float:
    return float(os.environ.get("EMBER_TUNE_GLOBAL_CHECKPOINT_S", "5"))


class TuneController:
    """Runs one experiment to completion (or interruption) and keeps its trials."""

    def __init__(self, *, trainable_cls: type, trainable_ref: Any, trainable_name: str,
                 search_alg: SearchAlgorithm, scheduler: TrialScheduler, stopper: Any,
                 callbacks: list, reporter: Any, experiment_path: str, experiment_name: str,
                 checkpoint_config: CheckpointConfig, failure_config: FailureConfig,
                 metric: str | None, mode: str | None, max_concurrent: int | None,
                 reuse_actors: bool, time_budget_s: float | None, verbose: int,
                 trial_name_creator: Any = None, trial_dirname_creator: Any = None,
                 trials: list[Trial] | None = None, experiment_uid: str | None = None,
                 next_index: int = 0, log_to_file: Any = False) -> None:
        self._trainable_cls = trainable_cls
        self._trainable_name = trainable_name
        self._search_alg = search_alg
        self._scheduler = scheduler
        self._stopper = stopper
        self._callbacks = CallbackList(callbacks)
        self._reporter = reporter
        self.experiment_path = experiment_path
        self.experiment_name = experiment_name
        self._checkpoint_config = checkpoint_config
        self._failure_config = failure_config
        self._metric, self._mode = metric, mode
        self._max_concurrent = max_concurrent
        self._time_budget_s = time_budget_s
        self._verbose = verbose
        self._log_files = _log_file_names(log_to_file)
        self._trial_name_creator = trial_name_creator
        self._trial_dirname_creator = trial_dirname_creator
        self._uid = experiment_uid or uuid.uuid4().hex[:5]
        self._next_index = next_index
        self._trials: list[Trial] = list(trials or [])
        self._by_id = {t.trial_id: t for t in self._trials}
        self._live = {t.trial_id: t for t in self._trials if not t.is_finished}
        self._running: dict[str, TrialActor] = {}
        self._busy: set[str] = set()
        self._inflight: dict[Any, tuple[str, Trial | None, TrialActor]] = {}
        self._actors = ActorManager(trainable_ref, reuse_actors,
                                    {k: v for k, v in ember.cluster_resources().items()})
        self._iteration = 0
        self._start = time.time()
        self._stop_all = False
        self._raise: BaseException | None = None
        self._dirty = True
        self._last_save = 0.0
        self._strict_metric = self._wants_metric_check()
        self._typical: Any = None
        self._state_warned = False
        self._is_function = bool(getattr(trainable_cls, "_is_function_trainable", False))

    # ----- the view schedulers and searchers get ----------------------------------------
    def get_trials(self) -> list[Trial]:
        return self._trials

    def get_unstarted_trials(self) -> list[Trial]:
        return [t for t in self._live.values() if t.status in (Trial.PENDING, Trial.PAUSED)]

    def get_live_trials(self) -> list[Trial]:
        return [t for t in self._live.values() if not t.is_finished]

    def _finish(self, trial: Trial, status: str) -> None:
        trial.set_status(status)
        self._live.pop(trial.trial_id, None)
        self._dirty = True

    def has_resources_for_trial(self, trial: Trial) -> bool:
        if self._max_concurrent and len(self._running) >= self._max_concurrent:
            return False
        return self._actors.can_acquire(trial.placement_group_factory)

    def has_free_resources(self) -> bool:
        """Cheap pre-check: could a trial with the usual request start now?"""
        if self._max_concurrent and len(self._running) >= self._max_concurrent:
            return False
        return self._actors.can_acquire(self._typical_request())

    def set_trial_status(self, trial: Trial, status: str) -> None:
        if status in (Trial.TERMINATED, Trial.ERROR):
            self._finish(trial, status)
            return
        trial.set_status(status)
        self._dirty = True

    def save_trial(self, trial: Trial) -> str | None:
        """Checkpoint `trial` now and return the path (its latest checkpoint for functions)."""
        actor = self._running.get(trial.trial_id)
        if actor is None or trial.trial_id in self._busy or self._is_function:
            return trial.latest_checkpoint
        path = ember.get(actor.handle.save.remote())
        if path:
            self._register_checkpoint(trial, path, trial.last_result)
            self._callbacks.on_trial_save(iteration=self._iteration, trials=self._trials,
                                          trial=trial)
        return path

    def pause_trial(self, trial: Trial, should_checkpoint: bool = True) -> None:
        """Free the trial's resources; it resumes later from its latest checkpoint."""
        if trial.status == Trial.RUNNING:
            if should_checkpoint:
                self.save_trial(trial)
            self._end_run(trial)
        if trial.latest_checkpoint:
            self._set_restore(trial, trial.latest_checkpoint)
        trial.set_status(Trial.PAUSED)
        self._dirty = True

    def stop_trial(self, trial: Trial) -> None:
        """Terminate a trial (running, pending or paused) on a scheduler's behalf."""
        if trial.is_finished:
            return
        if trial.status == Trial.RUNNING:
            self._end_run(trial)
        self._finish(trial, Trial.TERMINATED)
        trial.stopped_by_scheduler = True
        self._scheduler.on_trial_remove(self, trial)
        self._search_alg.on_trial_complete(trial.trial_id, result=trial.last_result)
        self._callbacks.on_trial_complete(iteration=self._iteration, trials=self._trials,
                                          trial=trial)
        self._say(2, f"Trial {trial} stopped by the scheduler.")

    def exploit_trial(self, trial: Trial, config: dict, checkpoint: str, meta: dict,
                      tag: str, source: Trial | None = None) -> None:
        """Copy `checkpoint` into `trial`, switch it to `config` and restart it (PBT)."""
        dest = os.path.join(trial.ensure_dir(), f"checkpoint_{trial.checkpoint_index:06d}")
        persist_directory(checkpoint, dest)
        self._register_checkpoint(trial, dest, {**trial.last_result, **meta})
        trial.config = config
        trial.experiment_tag = tag
        for key in list(trial.evaluated_params):
            value: Any = config
            for part in key.split("/"):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                trial.evaluated_params[key] = value
        if trial.status == Trial.RUNNING:
            self._end_run(trial)
        self._set_restore(trial, dest)
        trial.set_status(Trial.PAUSED)
        self._dirty = True
        self._say(2, f"Trial {trial} exploited {source}: restarting with {config}.")

    # ----- the loop ---------------------------------------------------------------------
    def run(self) -> None:
        total = self._search_alg.total_samples
        self._callbacks.setup(stop=self._stopper, num_samples=total, total_num_samples=total,
                              experiment_name=self.experiment_name,
                              experiment_path=self.experiment_path)
        if self._reporter is not None:
            self._reporter.setup(start_time=self._start, total_samples=total,
                                 metric=self._metric, mode=self._mode)
        for trial in self._trials:
            if not trial.is_finished:
                self._scheduler.on_trial_add(self, trial)
        try:
            while not self.is_finished():
                self.step()
            if self._raise is not None:
                raise self._raise
        finally:
            self.cleanup()

    def is_finished(self) -> bool:
        if self._stop_all:
            return not self._running
        if not self._search_alg.is_finished():
            return False
        return not self._live

    def step(self) -> None:
        self._iteration += 1
        self._callbacks.on_step_begin(iteration=self._iteration, trials=self._trials)
        self._check_stop_all()
        if not self._stop_all:
            self._create_trials()
            self._start_trials()
        self._process_events()
        self._callbacks.on_step_end(iteration=self._iteration, trials=self._trials)
        self._report(done=False)
        self._maybe_save_state()

    def _check_stop_all(self) -> None:
        if self._stop_all:
            return
        over = self._time_budget_s is not None and \
            time.time() - self._start >= self._time_budget_s
        if over or (self._stopper is not None and self._stopper.stop_all()):
            self._say(1, "Stopping the experiment: " +
                      ("time budget reached." if over else "the stopper asked to stop all."))
            self.stop_experiment()

    def stop_experiment(self) -> None:
        """Terminate every unfinished trial and create no more."""
        self._stop_all = True
        for trial in list(self._live.values()):
            if not trial.is_finished:
                if trial.status == Trial.RUNNING:
                    self._end_run(trial)
                self._finish(trial, Trial.TERMINATED)
                self._search_alg.on_trial_complete(trial.trial_id, result=trial.last_result)
                self._callbacks.on_trial_complete(iteration=self._iteration,
                                                  trials=self._trials, trial=trial)
        self._search_alg.set_finished()
        self._dirty = True

    def _free_slots(self) -> int:
        """How many more trials could start now, minus those already waiting."""
        pgf = self._typical_request()
        need = pgf.required_resources
        free = [int((self._actors.total.get(k, 0.0) - self._actors.used.get(k, 0.0) + 1e-9)
                    // v) for k, v in need.items() if v > 0]
        slots = (min(free) if free else 1) + self._actors.idle_count(pgf)
        if self._max_concurrent:
            slots = min(slots, self._max_concurrent - len(self._running))
        return slots - self._num_waiting()

    def _num_waiting(self) -> int:
        """Unfinished trials not running (pending or paused), in O(1)."""
        return len(self._live) - len(self._running)

    def _typical_request(self) -> Any:
        if self._typical is None:
            last = self._trials[-1] if self._trials else None
            if last is not None:
                self._typical = last.placement_group_factory
            else:
                try:
                    return resource_request(self._trainable_cls, {})
                except Exception:  # noqa: BLE001 - the request depends on the config
                    return PlacementGroupFactory([{"CPU": 1.0}])
        return self._typical

    def _create_trials(self) -> None:
        if self._search_alg.is_finished():
            return
        if isinstance(self._search_alg, BasicVariantGenerator):
            # Variants do not depend on results: create them ahead (HyperBand needs its
            # brackets filled; the status table shows what is to come).
            wanted = _MAX_PENDING_VARIANTS - self._num_waiting()
        else:
            # Adaptive searchers suggest only when a trial can start, to see every result.
            wanted = self._free_slots()
            if not self._running and not self._num_waiting():
                wanted = max(wanted, 1)
        while wanted > 0 and not self._search_alg.is_finished():
            trial_id = f"{self._uid}_{self._next_index:05d}"
            variant = self._search_alg.next_trial(trial_id)
            if variant is None:
                break
            self._next_index += 1
            self._add_trial(trial_id, variant)
            wanted -= 1

    def _add_trial(self, trial_id: str, variant: Any) -> None:
        index = int(trial_id.rsplit("_", 1)[1])
        trial = Trial(self._trainable_name, config=variant.config, trial_id=trial_id,
                      experiment_tag=f"{index}_{variant.tag}" if variant.tag else str(index),
                      evaluated_params=variant.params,
                      experiment_path=self.experiment_path,
                      max_failures=self._failure_config.max_failures)
        try:
            trial.placement_group_factory = resource_request(self._trainable_cls, trial.config)
        except Exception as e:  # noqa: BLE001 - a bad request fails this trial only
            trial.error, trial.error_msg = e, str(e)
        if self._trial_name_creator is not None:
            trial.custom_trial_name = str(self._trial_name_creator(trial))
        if self._trial_dirname_creator is not None:
            trial.custom_dirname = str(self._trial_dirname_creator(trial))
        if trial.error is None and not self._actors.fits_cluster(trial.placement_group_factory):
            trial.error = TuneError(
                f"Trial {trial} requests {trial.placement_group_factory.required_resources}"
                f" but the cluster has only {self._actors.total}: it can never start. "
                "Lower its resources (tune.with_resources) or start ember with more.")
        self._trials.append(trial)
        self._by_id[trial_id] = trial
        self._live[trial_id] = trial
        self._dirty = True
        if trial.error is not None:
            self._fail_for_good(trial, trial.error)
            return
        self._scheduler.on_trial_add(self, trial)

    def _start_trials(self) -> None:
        while True:
            if self._max_concurrent and len(self._running) >= self._max_concurrent:
                return
            trial = self._scheduler.choose_trial_to_run(self)
            if trial is None or not self._start_trial(trial):
                return

    def _start_trial(self, trial: Trial) -> bool:
        actor = self._actors.acquire(trial.placement_group_factory)
        if actor is None:
            return False
        restoring = trial.restore_path is not None
        restore = {"path": trial.restore_path, "meta": trial.restore_meta} if restoring else None
        info = {"trial_id": trial.trial_id, "trial_name": str(trial), "trial_dir": trial.path,
                "experiment_name": self.experiment_name,
                "experiment_path": self.experiment_path,
                "resources": trial.placement_group_factory,
                "checkpoint_index": trial.checkpoint_index,
                "checkpoint_frequency": self._checkpoint_config.checkpoint_frequency,
                "log_files": tuple(os.path.join(trial.path, f) for f in self._log_files)
                if self._log_files else None}
        trial.ensure_dir()
        try:
            ref = actor.handle.start.remote(trial.config, info, restore)
        except Exception as e:  # noqa: BLE001 - e.g. a config that cannot be pickled
            self._actors.release(actor)
            self._fail_for_good(trial, TuneError(
                f"Could not send trial {trial} to its actor: {type(e).__name__}: "
                f"{str(e).rstrip('.')}. Put "
                "large or unpicklable objects in tune.with_parameters(...) instead of the "
                "config."))
            return True
        self._running[trial.trial_id] = actor
        trial.set_status(Trial.RUNNING)
        trial.start_time = trial.start_time or time.time()
        self._dirty = True
        self._track(ref, trial, actor)
        self._callbacks.on_trial_start(iteration=self._iteration, trials=self._trials,
                                       trial=trial)
        if restoring:
            self._callbacks.on_trial_restore(iteration=self._iteration, trials=self._trials,
                                             trial=trial)
        return True

    def _submit_train(self, trial: Trial, actor: TrialActor) -> None:
        self._track(actor.handle.train.remote(), trial, actor)

    def _track(self, ref: Any, trial: Trial, actor: TrialActor) -> None:
        self._inflight[ref] = (_TRAIN, trial, actor)
        self._busy.add(trial.trial_id)

    def _end_run(self, trial: Trial, finished: bool = False) -> None:
        """Take the trial off its actor: reuse the actor if idle, else kill it.

        `finished`: a function trainable returned, so there is nothing to unwind and the
        next start() on the actor clears it without a stop() round trip.
        """
        actor = self._running.pop(trial.trial_id, None)
        if actor is None:
            return
        if trial.trial_id in self._busy:  # a train() is in flight: the actor cannot stop now
            self._busy.discard(trial.trial_id)
            for ref, (_, _, a) in list(self._inflight.items()):
                if a is actor:
                    del self._inflight[ref]
            self._actors.kill(actor)
            return
        if not (finished and self._is_function):
            ref = actor.handle.stop.remote()
            self._inflight[ref] = (_STOP, None, actor)
        self._actors.release(actor)

    def _process_events(self) -> None:
        if not self._inflight:
            if not self._running and not self.is_finished() and \
                    self._search_alg.is_finished():
                stuck = [f"{t} ({t.status})" for t in self.get_unstarted_trials()]
                raise TuneError(f"No trial can make progress: {stuck} are waiting, but "
                                f"{type(self._scheduler).__name__} chose none of them to run "
                                "and nothing else is running.")
            if not self.is_finished():
                time.sleep(0.01)
            return
        timeout = self._wait_timeout()
        refs = list(self._inflight)
        ready, rest = ember.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ember.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        for ref in ready:
            entry = self._inflight.pop(ref, None)
            if entry is not None:
                self._handle(ref, *entry)

    def _wait_timeout(self) -> float:
        timeout = 1.0
        if self._time_budget_s is not None:
            timeout = min(timeout, max(0.0, self._start + self._time_budget_s - time.time()))
        return timeout

    def _handle(self, ref: Any, kind: str, trial: Trial | None, actor: TrialActor) -> None:
        if kind == _STOP:
            try:
                clean = ember.get(ref)
            except Exception:  # noqa: BLE001 - a dead actor is simply not reused
                clean = False
            if not clean:
                self._actors.mark_unusable(actor)
            return
        assert trial is not None
        self._busy.discard(trial.trial_id)
        if self._running.get(trial.trial_id) is not actor:
            return  # the trial was stopped or paused while this result was on its way
        try:
            result, checkpoint = ember.get(ref)
        except Exception as e:  # noqa: BLE001 - the trainable raised or its process died
            self._on_failure(trial, actor, e)
            return
        if result is None:
            self._complete(trial, natural=True, finished=True)
        else:
            self._on_result(trial, actor, result, checkpoint)

    # ----- results ----------------------------------------------------------------------
    def _wants_metric_check(self) -> bool:
        if os.environ.get("TUNE_DISABLE_STRICT_METRIC_CHECKING"):
            return False
        plain = type(self._scheduler) is FIFOScheduler and \
            isinstance(self._search_alg, BasicVariantGenerator)
        return not plain

    def _on_result(self, trial: Trial, actor: TrialActor, result: dict,
                   checkpoint: str | None) -> None:
        result["config"] = trial.config
        result["experiment_tag"] = trial.experiment_tag
        trial.update_last_result(result)
        if checkpoint:
            self._register_checkpoint(trial, checkpoint, result)
        self._dirty = self._dirty or bool(checkpoint)
        self._callbacks.on_trial_result(iteration=self._iteration, trials=self._trials,
                                        trial=trial, result=result)
        if result.pop("should_checkpoint", False):  # set by a callback, as in Ray
            self.save_trial(trial)
        self._say(3, f"Trial {trial} reported {_brief(result)}.")
        for owner in (self._scheduler, self._search_alg):
            metric = owner.metric
            if self._strict_metric and metric and metric not in result and \
                    not result.get("done"):
                self._on_failure(trial, actor, ValueError(
                    f"Trial returned a result which did not include the specified metric "
                    f"{metric!r} that {type(owner).__name__} expects. Make sure your calls "
                    f"to `tune.report()` include the metric (reported keys: "
                    f"{sorted(k for k in result if k != 'config')}), or set "
                    "TUNE_DISABLE_STRICT_METRIC_CHECKING=1."), retry=False)
                return
        self._search_alg.on_trial_result(trial.trial_id, result)
        if result.get("done") or (self._stopper is not None and
                                  self._stopper(trial.trial_id, result)):
            self._complete(trial, natural=True)
            return
        decision = self._scheduler.on_trial_result(self, trial, result)
        if trial.status != Trial.RUNNING or self._running.get(trial.trial_id) is not actor:
            return  # the scheduler already paused, stopped or restarted it
        if decision == TrialScheduler.STOP:
            trial.stopped_by_scheduler = True
            self._complete(trial, natural=False)
        elif decision == TrialScheduler.PAUSE:
            self.pause_trial(trial)
        else:
            self._submit_train(trial, actor)

    def _complete(self, trial: Trial, natural: bool, finished: bool = False) -> None:
        """The trial is done: its trainable returned, a stop criterion or the scheduler."""
        actor = self._running.get(trial.trial_id)
        if self._checkpoint_config.checkpoint_at_end and actor is not None and \
                trial.trial_id not in self._busy:
            try:
                self.save_trial(trial)
            except Exception as e:  # noqa: BLE001
                self._on_failure(trial, actor, e, retry=False)
                return
        self._end_run(trial, finished)
        trial.last_result = {**trial.last_result, "done": True}
        self._finish(trial, Trial.TERMINATED)
        if natural:
            self._scheduler.on_trial_complete(self, trial, trial.last_result)
        self._search_alg.on_trial_complete(trial.trial_id, result=trial.last_result)
        self._callbacks.on_trial_complete(iteration=self._iteration, trials=self._trials,
                                          trial=trial)
        self._say(2, f"Trial {trial} completed after "
                     f"{trial.last_result.get('training_iteration', 0)} iterations.")

    # ----- checkpoints and failures -----------------------------------------------------
    def _register_checkpoint(self, trial: Trial, path: str, result: dict) -> None:
        metrics = {k: v for k, v in result.items() if k != "config"}
        trial.checkpoints.append((path, metrics))
        trial.latest_checkpoint = path
        name = os.path.basename(path.rstrip(os.sep))
        try:
            trial.checkpoint_index = max(trial.checkpoint_index,
                                         int(name.rsplit("_", 1)[1]) + 1)
        except (IndexError, ValueError):
            pass
        self._prune_checkpoints(trial)
        self._callbacks.on_checkpoint(iteration=self._iteration, trials=self._trials,
                                      trial=trial, checkpoint=Checkpoint(path))

    def _prune_checkpoints(self, trial: Trial) -> None:
        cfg = self._checkpoint_config
        if not cfg.num_to_keep or len(trial.checkpoints) <= cfg.num_to_keep:
            return
        attr = cfg.checkpoint_score_attribute
        entries = list(trial.checkpoints)
        if attr:
            sign = 1 if cfg.checkpoint_score_order == "max" else -1
            ranked = sorted(entries, key=lambda e: sign * e[1].get(attr, float("-inf"))
                            if isinstance(e[1].get(attr), int | float) else float("-inf"),
                            reverse=True)
        else:
            ranked = list(reversed(entries))
        keep = {p for p, _ in ranked[:cfg.num_to_keep]} | {trial.latest_checkpoint}
        keep |= {trial.restore_path} if trial.restore_path else set()
        trial.checkpoints = [(p, m) for p, m in entries if p in keep]
        for p, _ in entries:
            if p not in keep:
                shutil.rmtree(p, ignore_errors=True)

    def _set_restore(self, trial: Trial, path: str) -> None:
        trial.restore_path = path
        meta = next((m for p, m in reversed(trial.checkpoints) if p == path), {})
        trial.restore_meta = {k: meta[k] for k in _CHECKPOINT_META_KEYS if k in meta}

    def _on_failure(self, trial: Trial, actor: TrialActor, error: BaseException,
                    retry: bool = True) -> None:
        self._running.pop(trial.trial_id, None)
        self._busy.discard(trial.trial_id)
        self._actors.kill(actor)
        trial.num_failures += 1
        self._write_error(trial, error)
        limit = self._failure_config.max_failures
        if retry and (limit == -1 or trial.num_failures <= limit):
            trial.set_status(Trial.PENDING)
            if trial.latest_checkpoint:
                self._set_restore(trial, trial.latest_checkpoint)
            else:
                trial.restore_path, trial.restore_meta = None, None
            self._dirty = True
            self._callbacks.on_trial_recover(iteration=self._iteration, trials=self._trials,
                                             trial=trial)
            self._say(1, f"Trial {trial} failed ({type(error).__name__}); retrying "
                         f"({trial.num_failures}/{'∞' if limit == -1 else limit}).")
            return
        self._fail_for_good(trial, error)

    def _fail_for_good(self, trial: Trial, error: BaseException) -> None:
        trial.error = error
        trial.error_msg = str(error)
        self._finish(trial, Trial.ERROR)
        self._write_error(trial, error)
        self._scheduler.on_trial_error(self, trial)
        self._search_alg.on_trial_complete(trial.trial_id, result=trial.last_result or None,
                                           error=True)
        self._callbacks.on_trial_error(iteration=self._iteration, trials=self._trials,
                                       trial=trial)
        self._say(1, f"Trial {trial} errored: {type(error).__name__}. "
                     f"See {os.path.join(trial.path, 'error.txt')}")
        fail_fast = self._failure_config.fail_fast
        if fail_fast:
            if fail_fast == "raise":
                self._raise = error
            self.stop_experiment()

    def _write_error(self, trial: Trial, error: BaseException) -> None:
        with open(os.path.join(trial.ensure_dir(), "error.txt"), "a") as f:
            f.write(f"Failure # {trial.num_failures} (occurred at "
                    f"{time.strftime('%Y-%m-%d_%H-%M-%S')})\n{_describe(error)}\n\n")

    # ----- output and state -------------------------------------------------------------
    def _say(self, level: int, message: str) -> None:
        if self._verbose >= level:
            print(message, file=sys.stdout, flush=True)

    def _report(self, done: bool) -> None:
        r = self._reporter
        if r is not None and r.should_report(self._trials, done):
            r.report(self._trials, done, self._actors.usage_str(),
                     self._scheduler.debug_string(),
                     f"Result logdir: {self.experiment_path}")

    def _maybe_save_state(self, force: bool = False) -> None:
        now = time.time()
        if not force and (not self._dirty or now - self._last_save < _state_period()):
            return
        self.save_state()

    def save_state(self) -> None:
        """Write experiment_state.pkl; an unpicklable config only costs the ability to restore."""
        try:
            save_experiment_state(self.experiment_path, self._trials,
                                  self._search_alg.get_state(),
                                  {"uid": self._uid, "next_index": self._next_index})
        except Exception as e:  # noqa: BLE001
            if not self._state_warned:
                self._state_warned = True
                logger.warning("Could not save the experiment state (%s: %s); this run "
                               "cannot be restored with Tuner.restore().", type(e).__name__, e)
        self._last_save = time.time()
        self._dirty = False

    def cleanup(self) -> None:
        """Release every actor, write the state file, flush loggers, print the last table."""
        self._actors.kill_all()
        self._running.clear()
        self._inflight.clear()
        try:
            self.save_state()
        finally:
            self._callbacks.on_experiment_end(trials=self._trials)
            self._report(done=True)


def _log_file_names(log_to_file: Any) -> tuple[str, str] | None:
    """RunConfig.log_to_file as (stdout file, stderr file) names, or None."""
    if not log_to_file:
        return None
    if log_to_file is True:
        return ("stdout", "stderr")
    if isinstance(log_to_file, str):
        return (log_to_file, log_to_file)
    if isinstance(log_to_file, tuple | list) and len(log_to_file) == 2:
        return (str(log_to_file[0]), str(log_to_file[1]))
    raise ValueError(f"log_to_file must be a bool, a file name or a (stdout, stderr) pair, "
                     f"got {log_to_file!r}.")


def _describe(error: BaseException) -> str:
    text = str(error)
    if "Traceback" in text:
        return text
    import traceback

    return "".join(traceback.format_exception(type(error), error, error.__traceback__)).strip()


def _brief(result: dict) -> str:
    keys = [k for k, v in result.items() if isinstance(v, int | float) and
            not isinstance(v, bool)][:6]
    return ", ".join(f"{k}={result[k]:.5g}" if isinstance(result[k], float) else
                     f"{k}={result[k]}" for k in keys)
