"""Failures with real processes: a SIGKILLed worker, elastic resizing, a failed upload."""

from __future__ import annotations

import json
import os
import signal
import tempfile

import pytest
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem

import ember
from ember import train
from ember.train import (
    Checkpoint,
    DataParallelTrainer,
    FailureConfig,
    RunConfig,
    ScalingConfig,
    UserCallback,
)

pytestmark = pytest.mark.usefixtures("cluster")


def allreduce_loop(config):
    """Each epoch adds the all-reduced (epoch + 1) per rank to a running total kept in the
    checkpoint. On the first attempt rank 1 SIGKILLs itself in the middle of epoch
    `kill_at`, after the collective and before its report."""
    import torch
    import torch.distributed as dist

    ctx = train.get_context()
    total, start = 0.0, 0
    ck = train.get_checkpoint()
    if ck is not None:
        with ck.as_directory() as d, open(os.path.join(d, "state.json")) as f:
            state = json.load(f)
        total, start = state["total"], state["epoch"] + 1
    for epoch in range(start, config["epochs"]):
        t = torch.tensor([epoch + 1.0])
        dist.all_reduce(t)
        total += t.item()
        if epoch == config["kill_at"] and ctx.get_attempt() == 0 and ctx.get_world_rank() == 1:
            # Once the driver has the previous epoch's report (reports are asynchronous).
            while config["recorded"].get(timeout=60) < epoch - 1:
                pass
            os.kill(os.getpid(), signal.SIGKILL)
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "state.json"), "w") as f:
            json.dump({"total": total, "epoch": epoch}, f)
        train.report({"epoch": epoch, "total": total, "attempt": ctx.get_attempt(),
                      "resumed_at": start},
                     checkpoint=Checkpoint.from_directory(d) if ctx.get_world_rank() == 0
                     else None)


class Recorded(UserCallback):
    """Tells the workers (through a queue) which report the driver has recorded."""

    def __init__(self, queue) -> None:
        self.queue = queue
        self.index = 0

    def after_report(self, run_context, metrics, checkpoint) -> None:
        self.queue.put(self.index)
        self.index += 1


def test_sigkilled_worker_restarts_the_group_from_the_latest_checkpoint(tmp_path):
    from ember.train.torch import TorchConfig, TorchTrainer
    from ember.util.queue import Queue

    recorded = Queue()
    result = TorchTrainer(
        allreduce_loop, train_loop_config={"epochs": 4, "kill_at": 2, "recorded": recorded},
        scaling_config=ScalingConfig(num_workers=2), torch_config=TorchConfig(timeout_s=60),
        run_config=RunConfig(storage_path=str(tmp_path), callbacks=[Recorded(recorded)],
                             failure_config=FailureConfig(max_failures=1))).fit()
    # 2 ranks * (1 + 2 + 3 + 4): each epoch counted once, none lost or repeated.
    assert result.metrics["total"] == 20.0
    assert result.metrics["attempt"] == 1 and result.metrics["resumed_at"] == 2
    df = result.metrics_dataframe
    assert df["epoch"].tolist() == [0, 1, 2, 3]
    assert df["attempt"].tolist() == [0, 0, 1, 1]


def test_sigkilled_worker_without_retries_fails_the_run(tmp_path):
    def loop():
        if train.get_context().get_world_rank() == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        train.report({"x": 1})

    with pytest.raises(train.TrainingFailedError, match="rank 1: worker died"):
        DataParallelTrainer(loop, scaling_config=ScalingConfig(num_workers=2),
                            run_config=RunConfig(storage_path=str(tmp_path))).fit()


def world_size_loop():
    ctx = train.get_context()
    if ctx.get_attempt() == 0 and ctx.get_world_size() == 2 and ctx.get_world_rank() == 0:
        raise RuntimeError("fail once")
    train.report({"world_size": ctx.get_world_size(), "attempt": ctx.get_attempt()})


@ember.remote(num_cpus=1)
class Hog:
    def ready(self) -> bool:
        return True


def test_elastic_group_starts_with_what_the_cluster_holds(tmp_path):
    hog = Hog.remote()
    ember.get(hog.ready.remote())
    try:
        result = DataParallelTrainer(
            world_size_loop, scaling_config=ScalingConfig(num_workers=(1, 2)),
            run_config=RunConfig(storage_path=str(tmp_path))).fit()
    finally:
        ember.kill(hog)
    assert result.metrics == {"world_size": 1, "attempt": 0}


class TakeACpu(UserCallback):
    """Between the failure and the restart, another job takes one of the 2 CPUs."""

    def __init__(self) -> None:
        self.hog = None

    def after_exception(self, run_context, worker_exceptions) -> None:
        assert run_context.world_size == 2 and 0 in worker_exceptions
        self.hog = Hog.remote()
        ember.get(self.hog.ready.remote())


def test_elastic_group_resizes_on_restart_instead_of_failing(tmp_path):
    taker = TakeACpu()
    try:
        result = DataParallelTrainer(
            world_size_loop, scaling_config=ScalingConfig(num_workers=(1, 2)),
            run_config=RunConfig(storage_path=str(tmp_path), callbacks=[taker],
                                 failure_config=FailureConfig(max_failures=1))).fit()
    finally:
        if taker.hog is not None:
            ember.kill(taker.hog)
    assert result.metrics == {"world_size": 1, "attempt": 1}


class NoUploads(DirFileSystem):
    """The local disk, except that uploads fail."""

    def put_file(self, lpath, rpath, **kwargs):
        raise PermissionError(f"cannot write {rpath}")


def test_failed_checkpoint_upload_is_reported_not_silent(tmp_path):
    fs = NoUploads(path=str(tmp_path), fs=LocalFileSystem())

    def loop():
        d = tempfile.mkdtemp()
        open(os.path.join(d, "weights"), "w").close()
        train.report({"step": 1}, checkpoint=Checkpoint.from_directory(d))

    with pytest.raises(train.TrainingFailedError,
                       match="checkpoint upload .* failed: PermissionError: cannot write"):
        DataParallelTrainer(loop, run_config=RunConfig(
            name="up", storage_path="runs", storage_filesystem=fs)).fit()


def _mark_warm() -> None:
    os.environ["EMBER_TEST_WARMED"] = "1"


class MarkingBackend(train.BackendConfig):
    """A backend whose standby workers leave a mark in their process."""

    def warm_up(self):
        return _mark_warm


def killed_after_one_report(config):
    ctx = train.get_context()
    start = 0 if train.get_checkpoint() is None else 1
    for step in range(start, 3):
        train.report({"step": step, "attempt": ctx.get_attempt(), "pid": os.getpid(),
                      "warmed": os.environ.get("EMBER_TEST_WARMED", "")},
                     checkpoint=Checkpoint.from_directory(tempfile.mkdtemp()))
        if step == 0 and ctx.get_attempt() == 0 and ctx.get_world_rank() == 1:
            config["recorded"].get(timeout=60)  # the driver has recorded report 0
            os.kill(os.getpid(), signal.SIGKILL)


def test_warm_standby_workers_take_over_after_a_failure(tmp_path):
    from ember.util.queue import Queue

    recorded = Queue()
    result = DataParallelTrainer(
        killed_after_one_report, train_loop_config={"recorded": recorded},
        backend_config=MarkingBackend(), scaling_config=ScalingConfig(num_workers=2),
        run_config=RunConfig(storage_path=str(tmp_path), callbacks=[Recorded(recorded)],
                             failure_config=FailureConfig(max_failures=1,
                                                          warm_standby=True))).fit()
    df = result.metrics_dataframe
    assert df["attempt"].tolist() == [0, 1, 1] and df["step"].tolist() == [0, 1, 2]
    assert df["warmed"].tolist() == ["", "1", "1"]  # warmed standbys took over
    assert df["pid"].iloc[0] != df["pid"].iloc[1]
    # The last attempt kept no standbys (no failures left), and everything is released.
    assert ember.available_resources().get("CPU") == 2.0
