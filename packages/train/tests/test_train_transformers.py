"""transformers.Trainer under TorchTrainer: RayTrainReportCallback and prepare_trainer."""

from __future__ import annotations

import os

import pytest

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")

from ember.train import RunConfig, ScalingConfig  # noqa: E402
from ember.train.torch import TorchTrainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("cluster")


def hf_loop(config):
    from ember.train.huggingface.transformers import RayTrainReportCallback, prepare_trainer

    class Regressor(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(2, 1)

        def forward(self, x, labels=None):
            out = self.net(x)
            loss = torch.nn.functional.mse_loss(out, labels) if labels is not None else None
            return {"loss": loss, "logits": out}

    class Rows(torch.utils.data.Dataset):
        def __init__(self) -> None:
            g = torch.Generator().manual_seed(0)
            self.x = torch.randn(32, 2, generator=g)

        def __len__(self) -> int:
            return 32

        def __getitem__(self, i):
            return {"x": self.x[i], "labels": self.x[i].sum(0, keepdim=True)}

    args = transformers.TrainingArguments(
        output_dir=config["out"], per_device_train_batch_size=4, num_train_epochs=2,
        save_strategy="epoch", logging_strategy="epoch", learning_rate=0.1, use_cpu=True,
        report_to=[], disable_tqdm=True)
    trainer = transformers.Trainer(model=Regressor(), args=args, train_dataset=Rows())
    trainer.add_callback(RayTrainReportCallback())
    trainer = prepare_trainer(trainer)
    trainer.train()


def test_transformers_trainer_reports_each_save_with_its_checkpoint(tmp_path):
    result = TorchTrainer(hf_loop, train_loop_config={"out": str(tmp_path / "hf")},
                          scaling_config=ScalingConfig(num_workers=2),
                          run_config=RunConfig(storage_path=str(tmp_path))).fit()
    df = result.metrics_dataframe
    # 32 rows over 2 ranks in batches of 4: 4 steps per epoch.
    assert df["step"].tolist() == [4, 8]
    assert df["epoch"].tolist() == [1.0, 2.0]
    assert df["loss"].iloc[-1] < df["loss"].iloc[0]
    saved = os.listdir(result.checkpoint.path)
    assert "trainer_state.json" in saved
