"""XGBoostTrainer: two workers boost one model over xgboost's collective communicator."""

from __future__ import annotations

import numpy as np
import pytest

xgboost = pytest.importorskip("xgboost")

import ember.data  # noqa: E402
from ember.train import RunConfig, ScalingConfig  # noqa: E402
from ember.train.xgboost import RayTrainReportCallback, XGBoostTrainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("cluster")


def rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    return [{"a": a, "b": b, "c": c, "y": int(t)} for (a, b, c), t in zip(x, y, strict=True)]


def boost(config):
    from ember import train

    df = train.get_dataset_shard("train").materialize().to_pandas()
    dtrain = xgboost.DMatrix(df[["a", "b", "c"]], df["y"])
    xgboost.train(config, dtrain, num_boost_round=4, evals=[(dtrain, "train")],
                  callbacks=[RayTrainReportCallback(frequency=2)])
    train.report({"world": xgboost.collective.get_world_size(),
                  "rank": xgboost.collective.get_rank(), "rows": len(df)})


def test_two_workers_boost_one_model_in_the_communicator(tmp_path):
    result = XGBoostTrainer(
        boost, train_loop_config={"objective": "binary:logistic", "eval_metric": "error",
                                  "max_depth": 2, "nthread": 1},
        datasets={"train": ember.data.from_items(rows(200, 0))},
        scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 0.5}),
        run_config=RunConfig(storage_path=str(tmp_path))).fit()
    df = result.metrics_dataframe
    assert df["iteration"].dropna().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert result.metrics == {"world": 2, "rank": 0, "rows": 100}
    assert df["train-error"].dropna().iloc[-1] < 0.2
    booster = XGBoostTrainer.get_model(result.checkpoint)
    assert booster.num_boosted_rounds() == 4
    # The checkpoints of rounds 2 and 4 (the end) were kept.
    assert len(result.best_checkpoints) == 2


def test_legacy_params_form(tmp_path):
    result = XGBoostTrainer(
        params={"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1},
        label_column="y", num_boost_round=3,
        datasets={"train": ember.data.from_items(rows(100, 1)),
                  "valid": ember.data.from_items(rows(40, 2))},
        scaling_config=ScalingConfig(num_workers=2, resources_per_worker={"CPU": 0.5}),
        run_config=RunConfig(storage_path=str(tmp_path))).fit()
    assert set(result.metrics) == {"train-logloss", "valid-logloss", "iteration"}
    assert result.metrics["iteration"] == 3
    assert XGBoostTrainer.get_model(result.checkpoint).num_boosted_rounds() == 3
