"""Datasets split across workers with streaming_split: equal rows, nothing lost or
duplicated in an epoch; unsplit datasets go whole to every worker."""

from __future__ import annotations

import pytest

import ember.data
from ember import train
from ember.train import DataConfig, DataParallelTrainer, RunConfig, ScalingConfig

# Half a CPU per worker leaves room for the data tasks on a 2-CPU cluster.
pytestmark = pytest.mark.usefixtures("cluster")


def ids_per_epoch(config):
    shard = train.get_dataset_shard("train")
    whole = train.get_dataset_shard("valid")
    for epoch in range(config["epochs"]):
        ids = []
        for batch in shard.iter_batches(batch_size=7, batch_format="numpy"):
            ids += batch["id"].tolist()
        valid = sum(len(b["id"]) for b in whole.iter_batches(batch_size=None))
        train.report({"epoch": epoch, "ids": ids, "valid_rows": valid})


class PerRank(train.UserCallback):
    def __init__(self) -> None:
        self.metrics: list[list[dict]] = []

    def after_report(self, run_context, metrics, checkpoint) -> None:
        self.metrics.append(metrics)


def test_each_epoch_splits_the_rows_equally_without_loss_or_duplicates(tmp_path):
    per_rank = PerRank()
    DataParallelTrainer(
        ids_per_epoch, train_loop_config={"epochs": 2},
        datasets={"train": ember.data.range(120, override_num_blocks=6),
                  "valid": ember.data.range(10)},
        dataset_config=DataConfig(datasets_to_split=["train"]),
        scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 0.5}),
        run_config=RunConfig(storage_path=str(tmp_path), callbacks=[per_rank])).fit()
    assert len(per_rank.metrics) == 2
    for r0, r1 in per_rank.metrics:
        assert len(r0["ids"]) == len(r1["ids"]) == 60
        assert sorted(r0["ids"] + r1["ids"]) == list(range(120))
        assert r0["valid_rows"] == r1["valid_rows"] == 10


def torch_batches(config):
    import torch

    shard = train.get_dataset_shard("train")
    total, rows = 0.0, 0
    for batch in shard.iter_torch_batches(batch_size=16, dtypes=torch.float64):
        assert isinstance(batch["id"], torch.Tensor) and batch["id"].dtype == torch.float64
        total += batch["id"].sum().item()
        rows += len(batch["id"])
    train.report({"sum": total, "rows": rows})


def test_iter_torch_batches_on_a_shard(tmp_path):
    per_rank = PerRank()
    DataParallelTrainer(
        torch_batches, datasets={"train": ember.data.range(64)},
        scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 0.5}),
        run_config=RunConfig(storage_path=str(tmp_path), callbacks=[per_rank])).fit()
    (r0, r1), = per_rank.metrics
    assert r0["rows"] == r1["rows"] == 32
    assert r0["sum"] + r1["sum"] == sum(range(64))
