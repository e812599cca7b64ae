"""The driver side of a run: starts the worker group, collects reports in order, persists
state, and restarts (or resizes) the group after a failure."""

from __future__ import annotations

import logging
import time
from typing import Any

import ember
from ember.train._messages import Report, RunSpec, WorkerError
from ember.train._metrics import RunMetrics
from ember.train._worker import takes_config
from ember.train.callback import ProgressPrinter, RunContext
from ember.train.checkpoint import Checkpoint
from ember.train.checkpoint_manager import CheckpointManager, RunState, TrackedCheckpoint
from ember.train.config import CheckpointConfig
from ember.train.context import CHECKPOINT_PREFIX, STAGING_DIR, checkpoint_dir_name
from ember.train.result import Result, TrainingFailedError
from ember.train.storage import StorageContext
from ember.train.worker_group import WorkerGroup, feasible_workers

__all__ = ["STATE_FILE", "TrainController", "result_from_storage"]

logger = logging.getLogger(__name__)

STATE_FILE = ".train_state.json"
_POLL_S = 30.0


class _GroupFailure(Exception):
    """The worker group failed: a worker died, the loop raised, or an upload failed."""

    def __init__(self, rank: int, error: BaseException | None, text: str,
                 traceback: str = "") -> None:
        super().__init__(text)
        self.rank, self.error, self.text, self.traceback = rank, error, text, traceback


def load_state(storage: StorageContext) -> RunState | None:
    if not storage.exists(STATE_FILE):
        return None
    return RunState.from_json(storage.read_bytes(STATE_FILE))


def result_from_storage(storage: StorageContext, error: BaseException | None = None) -> Result:
    """The Result of the run saved in `storage`."""
    state = load_state(storage)
    if state is None:
        raise ValueError(f"No training run at {storage.run_path!r} (no {STATE_FILE}).")
    fs = storage.filesystem
    best = [(Checkpoint(c.path, fs), c.metrics) for c in state.checkpoints]
    latest = max(state.checkpoints, key=lambda c: c.index) if state.checkpoints else None
    return Result(metrics=state.history[-1] if state.history else None,
                  checkpoint=Checkpoint(latest.path, fs) if latest else None, error=error,
                  path=storage.run_path,
                  best_checkpoints=best, filesystem=fs, metrics_history=state.history)


class TrainController:
    """Runs one training run to its end (see DataParallelTrainer.fit)."""

    def __init__(self, trainer: Any, storage: StorageContext) -> None:
        self.trainer = trainer
        self.storage = storage
        self._metrics: RunMetrics | None = None
        rc = trainer.run_config
        self.scaling = trainer.scaling_config
        self.max_failures = rc.failure_config.max_failures
        self.callbacks = list(rc.callbacks or [])
        self.progress = ProgressPrinter(storage.name, rc.verbose)
        self.state = load_state(storage) or RunState()
        cc: CheckpointConfig = rc.checkpoint_config
        self.manager = CheckpointManager(cc, self.state.checkpoints)
        self.state.checkpoints = self.manager.kept
        self.state.finished = False
        self.world_size = 0
        self._pending: dict[int, dict[int, Report]] = {}

    # -- the run --------------------------------------------------------------------------
    def run(self) -> Result:
        self.storage.makedirs()
        failures = 0
        warm: WorkerGroup | None = None
        while True:
            self._remove_partial_checkpoints()
            group: WorkerGroup | None = None
            self._failures = failures
            try:
                group, warm = self._start_group(attempt=failures, warm=warm), None
                self._group = group
                self._drive(group)
                self.trainer.backend_config.on_shutdown(group)
                break
            except _GroupFailure as f:
                failures += 1
                if group is not None:
                    warm = self._take_over(group)
                    group.shutdown()  # free its resources before anything else runs
                self._after_exception(f)
                limit = self.max_failures
                if limit != -1 and failures > limit:
                    if warm is not None:
                        warm.shutdown()
                    raise TrainingFailedError(
                        f"Training failed after {failures - 1} restart(s) "
                        f"(FailureConfig.max_failures={limit}): worker rank {f.rank}: "
                        f"{f.text}\n{f.traceback}", f.error, f.traceback) from f.error
                latest = self.manager.latest
                logger.warning("Training worker group failed (rank %d: %s); restarting (%d/%s) "
                               "from %s", f.rank, f.text, failures,
                               "inf" if limit == -1 else limit,
                               latest.path if latest else "the start")
                self.progress.note(f"restart {failures} after a failure of rank {f.rank}")
            except BaseException:
                if warm is not None:
                    warm.shutdown()
                raise
            finally:
                if group is not None:
                    group.shutdown()
        self.state.finished = True
        self._save_state()
        return result_from_storage(self.storage)

    def _remove_partial_checkpoints(self) -> None:
        """Checkpoint folders of reports that never completed (a failed attempt's)."""
        kept = {c.path for c in self.manager.kept}
        for name in self.storage.list_dirs(CHECKPOINT_PREFIX):
            path = self.storage.join(name)
            if path not in kept:
                self.storage.delete(path)
        self.storage.delete(self.storage.join(STAGING_DIR))

    def _num_workers(self) -> int:
        if not self.scaling.elastic or getattr(self.trainer, "_placement_group", None):
            return self.scaling.max_workers
        lo = self.scaling.min_workers
        warned = False
        while True:
            n = feasible_workers(self.scaling, ember.available_resources())
            if n >= lo:
                return n
            if not warned:
                logger.warning("Elastic training waits for room for %d workers (fits %d now)",
                               lo, n)
                warned = True
            time.sleep(0.2)

    def _standby_wanted(self) -> bool:
        fc = self.trainer.run_config.failure_config
        left = fc.max_failures == -1 or self._failures < fc.max_failures
        return (fc.warm_standby and left and not self.scaling.elastic
                and not self.scaling.worker_resources().get("GPU"))

    @staticmethod
    def _take_over(group: WorkerGroup) -> WorkerGroup | None:
        """The failed group's warm standbys as the next group (None without them)."""
        if not group.standby:
            return None
        try:
            return group.take_over()
        except ember.exceptions.RayError as e:
            logger.warning("Standby workers unusable (%s); starting fresh ones", e)
            return None

    def _start_group(self, attempt: int, warm: WorkerGroup | None = None) -> WorkerGroup:
        if warm is not None:
            group = warm
            n = len(group)
        else:
            group, n = self._new_group()
        self.world_size = n
        self._pending = {}
        return self._start_loop(group, n, attempt)

    def _new_group(self) -> tuple[WorkerGroup, int]:
        n = self._num_workers()
        try:
            group = WorkerGroup(self.scaling, n, self.trainer.run_config.worker_runtime_env,
                                None if not self.scaling.elastic else 30.0,
                                getattr(self.trainer, "_placement_group", None))
        except TimeoutError:
            if self.scaling.elastic:
                raise _GroupFailure(-1, None, "resources went away while starting") from None
            raise
        except ember.exceptions.RayError as e:
            raise _GroupFailure(-1, e, f"a worker failed to start: {e}") from e
        return group, n

    def _start_loop(self, group: WorkerGroup, n: int, attempt: int) -> WorkerGroup:
        if self.trainer.datasets and ember.available_resources().get("CPU", 0.0) < 1.0:
            logger.warning("The training workers hold every CPU, so the datasets' tasks may "
                           "wait forever: give workers less (resources_per_worker={'CPU': "
                           "0.5}) or the cluster more CPUs.")
        try:
            self.trainer.backend_config.on_start(group)
            shards = self.trainer._dataset_shards(n)
            local, local_sizes, node_ranks = group.local_ranks()
            latest = self.manager.latest
            checkpoint = Checkpoint(latest.path, self.storage.filesystem) if latest else \
                self.trainer.resume_from_checkpoint
            fn = self.trainer.train_loop_per_worker
            self.trainer.backend_config.on_training_start(group)
            specs = [RunSpec(
                train_fn=fn, config=self.trainer.train_loop_config,
                takes_config=takes_config(fn), world_rank=r, world_size=n,
                local_rank=local[r], local_world_size=local_sizes[r], node_rank=node_ranks[r],
                experiment_name=self.storage.name, storage_path=self.storage.root,
                storage_filesystem=self.storage.filesystem, run_name=self.storage.name,
                first_report_index=self.state.reports, checkpoint=checkpoint,
                dataset_shards={k: v[r] for k, v in shards.items()},
                num_cpus=self.scaling.worker_resources().get("CPU", 0.0),
                use_gpu=self.scaling.use_gpu, attempt=attempt) for r in range(n)]
            started = [w.start.remote(s) for w, s in zip(group.workers, specs, strict=True)]
            for rank, ref in enumerate(started):
                try:
                    ember.get(ref)
                except ember.exceptions.RayError as e:
                    raise _GroupFailure(rank, e, f"worker died: {type(e).__name__}: {e}") from e
        except _GroupFailure:
            group.shutdown()
            raise
        except ember.exceptions.RayError as e:
            group.shutdown()
            raise _GroupFailure(-1, e, f"worker set-up failed: {e}") from e
        except BaseException:
            group.shutdown()
            raise
        return group

    def _drive(self, group: WorkerGroup) -> None:
        """Collect reports until every worker's loop has returned."""
        workers = group.workers
        polls = {w.poll.remote(_POLL_S): r for r, w in enumerate(workers)}
        done: set[int] = set()
        while polls:
            ready, _ = ember.wait(list(polls), num_returns=1)
            for ref in ready:
                rank = polls.pop(ref)
                try:
                    res = ember.get(ref)
                except ember.exceptions.RayError as e:
                    raise _GroupFailure(rank, e, f"worker died: {type(e).__name__}: {e}") from e
                for rep in res.reports:
                    if rep.upload_error is not None:
                        self._finalize(done | {rank})  # keep what came before it
                        raise _GroupFailure(rank, None, f"checkpoint upload to "
                                            f"{rep.checkpoint_path} failed: {rep.upload_error}")
                    self._pending.setdefault(rep.index, {})[rank] = rep
                if res.done:
                    if res.error is not None:
                        self._finalize(done | {rank})  # its reports before the error count
                        raise self._failure(res.error)
                    done.add(rank)
                else:
                    polls[workers[rank].poll.remote(_POLL_S)] = rank
            self._finalize(done)

    @staticmethod
    def _failure(err: WorkerError) -> _GroupFailure:
        return _GroupFailure(err.rank, err.exception, f"{err.type_name}: {err.message}",
                             err.traceback)

    def _finalize(self, done: set[int]) -> None:
        """Record, in order, each report that every still-running rank has made."""
        while True:
            index = self.state.reports
            got = self._pending.get(index)
            if got is None:
                return
            waiting = set(range(self.world_size)) - done
            if not waiting <= set(got):
                return
            del self._pending[index]
            self._record(index, [got[r] for r in sorted(got)])

    def _record(self, index: int, reports: list[Report]) -> None:
        metrics = dict(reports[0].metrics)
        checkpoint = None
        if any(r.checkpoint_path for r in reports):
            path = self.storage.join(checkpoint_dir_name(index))
            for dropped in self.manager.register(TrackedCheckpoint(index, path, metrics)):
                self.storage.delete(dropped.path)
            self.state.checkpoints = self.manager.kept
            checkpoint = Checkpoint(path, self.storage.filesystem)
        self.state.reports = index + 1
        self.state.history.append(metrics)
        self._save_state()
        self.progress.report(index, metrics, len(self.manager.kept))
        if self._metrics is None:
            self._metrics = RunMetrics(self.storage.name)
        self._metrics.report(len(self.manager.kept))
        group = getattr(self, "_group", None)
        if group is not None and not group.standby and self._standby_wanted():
            # Training is under way: warm up the replacements now, off its critical path.
            group.start_standby(self.trainer.backend_config.warm_up())
        ctx = RunContext(self.storage.name, self.storage.storage_path, self.world_size)
        for cb in self.callbacks:
            cb.after_report(ctx, [r.metrics for r in reports], checkpoint)

    def _after_exception(self, f: _GroupFailure) -> None:
        ctx = RunContext(self.storage.name, self.storage.storage_path, self.world_size)
        err = f.error if f.error is not None else RuntimeError(f.text)
        for cb in self.callbacks:
            hook = getattr(cb, "after_exception", None)
            if hook is not None:
                hook(ctx, {f.rank: err})

    def _save_state(self) -> None:
        self.storage.write_bytes(STATE_FILE, self.state.to_json())
