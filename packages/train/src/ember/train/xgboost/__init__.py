"""XGBoost on ember.train workers, over xgboost's collective communicator
(Ray's `ray.train.xgboost`).

    def train_loop(config):
        df = ember.train.get_dataset_shard("train").materialize().to_pandas()
        dtrain = xgboost.DMatrix(df.drop(columns="y"), df["y"])
        xgboost.train(config, dtrain, 10, callbacks=[RayTrainReportCallback()])

    XGBoostTrainer(train_loop, train_loop_config=params, datasets={"train": ds},
                   scaling_config=ScalingConfig(num_workers=2)).fit()
"""

from ember.train.xgboost._xgboost import (
    RayTrainReportCallback,
    XGBoostConfig,
    XGBoostTrainer,
)

__all__ = ["RayTrainReportCallback", "XGBoostConfig", "XGBoostTrainer"]
