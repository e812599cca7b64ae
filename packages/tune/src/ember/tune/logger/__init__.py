"""Loggers: JSON, CSV and TensorBoard files per trial; MLflow and W&B when installed."""

from ember.tune.logger.csv_logger import CSVLoggerCallback
from ember.tune.logger.json_logger import JsonLoggerCallback
from ember.tune.logger.logger import LoggerCallback
from ember.tune.logger.mlflow import MLflowLoggerCallback
from ember.tune.logger.tensorboard import TBXLoggerCallback
from ember.tune.logger.wandb import WandbLoggerCallback

__all__ = [
    "CSVLoggerCallback",
    "JsonLoggerCallback",
    "LoggerCallback",
    "MLflowLoggerCallback",
    "TBXLoggerCallback",
    "WandbLoggerCallback",
]
