"""A training run end to end with real workers: reports in order, checkpoints kept by
score, context, progress, storage on an fsspec filesystem, restore."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

import ember
from ember import train
from ember.train import (
    Checkpoint,
    CheckpointConfig,
    DataParallelTrainer,
    RunConfig,
    ScalingConfig,
    UserCallback,
)

pytestmark = pytest.mark.usefixtures("cluster")


def save_step(step: int, **extra) -> Checkpoint:
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump({"step": step, **extra}, f)
    return Checkpoint.from_directory(d)


def load_step(checkpoint: Checkpoint | None) -> int:
    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as d, open(os.path.join(d, "state.json")) as f:
        return json.load(f)["step"]


def counting_loop(config):
    """Reports steps start+1..steps; every rank writes a file of its own into the
    checkpoint, so a stored checkpoint holds every rank's part."""
    ctx = train.get_context()
    start = load_step(train.get_checkpoint())
    for step in range(start + 1, config["steps"] + 1):
        ck = save_step(step)
        with open(os.path.join(ck.path, f"rank{ctx.get_world_rank()}"), "w") as f:
            f.write(str(step))
        train.report({"step": step, "loss": config["losses"][step - 1],
                      "rank": ctx.get_world_rank(), "world_size": ctx.get_world_size(),
                      "local_rank": ctx.get_local_rank(),
                      "local_world_size": ctx.get_local_world_size(),
                      "node_rank": ctx.get_node_rank(),
                      "experiment": ctx.get_experiment_name()}, checkpoint=ck)


class Recorder(UserCallback):
    def __init__(self) -> None:
        self.seen: list[tuple[list[dict], str | None]] = []

    def after_report(self, run_context, metrics, checkpoint) -> None:
        self.seen.append((metrics, checkpoint.path if checkpoint else None))


def test_reports_reach_the_driver_in_order_and_the_best_checkpoints_are_kept(tmp_path):
    losses = [5.0, 1.0, 4.0, 3.0, 2.0, 6.0]
    recorder = Recorder()
    result = DataParallelTrainer(
        counting_loop, train_loop_config={"steps": 6, "losses": losses},
        scaling_config=ScalingConfig(num_workers=2),
        run_config=RunConfig(name="ordered", storage_path=str(tmp_path), callbacks=[recorder],
                             checkpoint_config=CheckpointConfig(
                                 num_to_keep=2, checkpoint_score_attribute="loss",
                                 checkpoint_score_order="min"))).fit()
    df = result.metrics_dataframe
    assert df["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert set(df["rank"]) == {0}  # rank 0's metrics
    assert result.metrics["step"] == 6 and result.metrics["world_size"] == 2
    assert result.metrics["local_world_size"] == 2 and result.metrics["node_rank"] == 0
    assert result.metrics["experiment"] == "ordered"
    # Callbacks see every rank's metrics, in rank order, once per report.
    assert [[m["rank"] for m in ms] for ms, _ in recorder.seen] == [[0, 1]] * 6
    assert sorted(m["local_rank"] for m in recorder.seen[0][0]) == [0, 1]
    # num_to_keep=2 by lowest loss, plus the latest (step 6) which is always kept.
    kept = sorted(os.path.basename(c.path) for c, _ in result.best_checkpoints)
    assert kept == ["checkpoint_000001", "checkpoint_000005"]
    assert result.checkpoint.path == os.path.join(result.path, "checkpoint_000005")
    on_disk = sorted(n for n in os.listdir(result.path) if n.startswith("checkpoint_"))
    assert on_disk == kept
    assert result.path == str(tmp_path / "ordered")
    assert sorted(os.listdir(result.checkpoint.path)) == ["rank0", "rank1", "state.json"]
    assert load_step(result.checkpoint) == 6
    assert result.get_best_checkpoint("loss", "min").path.endswith("checkpoint_000001")
    again = train.Result.from_path(result.path)
    assert again.metrics == result.metrics and again.checkpoint == result.checkpoint


def test_without_score_the_newest_are_kept(tmp_path):
    result = DataParallelTrainer(
        counting_loop, train_loop_config={"steps": 4, "losses": [1, 2, 3, 4]},
        run_config=RunConfig(storage_path=str(tmp_path),
                             checkpoint_config=CheckpointConfig(num_to_keep=2))).fit()
    assert [os.path.basename(c.path) for c, _ in result.best_checkpoints] == \
        ["checkpoint_000002", "checkpoint_000003"]
    assert result.metrics["world_size"] == 1


def test_progress_is_one_line_per_report_and_quiet_when_not_a_terminal(tmp_path, capfd):
    for verbose in (1, 2):
        DataParallelTrainer(
            counting_loop, train_loop_config={"steps": 2, "losses": [1.5, 0.5]},
            run_config=RunConfig(name=f"v{verbose}", storage_path=str(tmp_path),
                                 verbose=verbose)).fit()
    out = capfd.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[v")]
    assert not any(line.startswith("[v1]") for line in lines)  # pytest's stdout is no TTY
    assert len(lines) == 2
    assert "report 1" in lines[1] and "loss=0.5" in lines[1] and "checkpoints kept: 2" in lines[1]


def test_storage_on_an_fsspec_filesystem(tmp_path):
    from fsspec.implementations.dirfs import DirFileSystem
    from fsspec.implementations.local import LocalFileSystem

    fs = DirFileSystem(path=str(tmp_path / "bucket"), fs=LocalFileSystem())
    fs.makedirs("runs", exist_ok=True)
    result = DataParallelTrainer(
        counting_loop, train_loop_config={"steps": 2, "losses": [1, 2]},
        scaling_config=ScalingConfig(num_workers=2),
        run_config=RunConfig(name="remote", storage_path="runs", storage_filesystem=fs)).fit()
    assert result.checkpoint.path == "runs/remote/checkpoint_000001"
    assert not result.checkpoint.local
    assert os.path.isfile(tmp_path / "bucket/runs/remote/checkpoint_000001/rank1")
    with result.checkpoint.as_directory() as d:
        assert os.path.isfile(os.path.join(d, "rank0")) and d != result.checkpoint.path
    assert load_step(result.checkpoint) == 2


def fail_at_step(config):
    start = load_step(train.get_checkpoint())
    for step in range(start + 1, 5):
        if step == config.get("fail_at"):
            raise ValueError(f"bad batch at step {step}")
        train.report({"step": step, "resumed_at": start}, checkpoint=save_step(step))


def test_restore_continues_a_failed_run_from_its_latest_checkpoint(tmp_path):
    path = str(tmp_path / "crashy")
    assert not DataParallelTrainer.can_restore(path)
    trainer = DataParallelTrainer(fail_at_step, train_loop_config={"fail_at": 3},
                                  run_config=RunConfig(name="crashy",
                                                       storage_path=str(tmp_path)))
    with pytest.raises(train.TrainingFailedError):
        trainer.fit()
    assert DataParallelTrainer.can_restore(path)
    restored = DataParallelTrainer.restore(path, train_loop_config={"fail_at": None})
    result = restored.fit()
    assert result.metrics == {"step": 4, "resumed_at": 2}
    assert result.metrics_dataframe["step"].tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="Cannot restore"):
        DataParallelTrainer.restore(str(tmp_path / "nothing"))


def test_report_outside_training_and_bad_configs_are_clear_errors():
    with pytest.raises(RuntimeError, match="training function"):
        train.report({"x": 1})
    with pytest.raises(ValueError, match="num_workers"):
        ScalingConfig(num_workers=(3, 2))
    with pytest.raises(ValueError, match="placement_strategy"):
        ScalingConfig(placement_strategy="DIAGONAL")
    with pytest.raises(ValueError, match="num_to_keep"):
        CheckpointConfig(num_to_keep=0)
    with pytest.raises(TypeError, match="train_loop_per_worker"):
        DataParallelTrainer(42)
    assert ember.is_initialized()


def raising_loop():
    def inner_helper():
        raise ZeroDivisionError("the loss exploded")

    train.report({"ok": 1})
    inner_helper()


def test_user_error_raises_training_failed_error_with_the_remote_traceback(tmp_path):
    trainer = DataParallelTrainer(raising_loop, scaling_config=ScalingConfig(num_workers=2),
                                  run_config=RunConfig(storage_path=str(tmp_path)))
    with pytest.raises(train.TrainingFailedError) as info:
        trainer.fit()
    text = str(info.value)
    assert "ZeroDivisionError: the loss exploded" in text
    assert "inner_helper" in text and "Traceback" in text
    assert isinstance(info.value.error, ZeroDivisionError)
