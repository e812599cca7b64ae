"""The public names of ember.train and its subpackages, and the lazy `ember.train`."""

from __future__ import annotations

import importlib

import pytest

import ember

EXPECTED = {
    "ember.train": [
        "BackendConfig", "Checkpoint", "CheckpointConfig", "DataConfig",
        "DataParallelTrainer", "FailureConfig", "Result", "RunConfig", "RunContext",
        "ScalingConfig", "TrainContext", "TrainingFailedError", "UserCallback",
        "get_checkpoint", "get_context", "get_dataset_shard", "report"],
    "ember.train.torch": [
        "TorchConfig", "TorchTrainer", "accelerate", "backward", "enable_reproducibility",
        "get_device", "get_devices", "prepare_data_loader", "prepare_model",
        "prepare_optimizer"],
    "ember.train.lightning": [
        "RayDDPStrategy", "RayFSDPStrategy", "RayLightningEnvironment",
        "RayTrainReportCallback", "prepare_trainer"],
    "ember.train.huggingface.transformers": ["RayTrainReportCallback", "prepare_trainer"],
    "ember.train.xgboost": ["RayTrainReportCallback", "XGBoostConfig", "XGBoostTrainer"],
}
EXTRA = {"ember.train.lightning": "lightning", "ember.train.xgboost": "xgboost",
         "ember.train.huggingface.transformers": "transformers"}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_exported_members_are_sorted_and_present(module):
    if module in EXTRA:
        pytest.importorskip(EXTRA[module])
    mod = importlib.import_module(module)
    assert mod.__all__ == sorted(mod.__all__) == EXPECTED[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None


def test_ember_train_loads_on_use():
    assert ember.train.ScalingConfig is importlib.import_module("ember.train").ScalingConfig
