"""PyTorch Lightning under TorchTrainer: RayDDPStrategy, RayLightningEnvironment,
RayTrainReportCallback, prepare_trainer."""

from __future__ import annotations

import os

import pytest

pl = pytest.importorskip("lightning.pytorch")
torch = pytest.importorskip("torch")

from ember.train import RunConfig, ScalingConfig  # noqa: E402
from ember.train.torch import TorchTrainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("cluster")


def lightning_loop(config):
    from torch.utils.data import DataLoader, TensorDataset

    from ember.train.lightning import (
        RayDDPStrategy,
        RayLightningEnvironment,
        RayTrainReportCallback,
        prepare_trainer,
    )

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, sync_dist=True)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    x = torch.randn(32, 2)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=4)
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", devices="auto",
                         strategy=RayDDPStrategy(), plugins=[RayLightningEnvironment()],
                         callbacks=[RayTrainReportCallback()], enable_progress_bar=False,
                         enable_model_summary=False, logger=False,
                         enable_checkpointing=False)
    trainer = prepare_trainer(trainer)
    trainer.fit(Tiny(), loader)
    assert trainer.world_size == 2 and trainer.global_rank in (0, 1)


def test_lightning_ddp_reports_each_epoch_with_a_checkpoint(tmp_path):
    result = TorchTrainer(lightning_loop, scaling_config=ScalingConfig(num_workers=2),
                          run_config=RunConfig(storage_path=str(tmp_path))).fit()
    df = result.metrics_dataframe
    assert df["epoch"].tolist() == [0, 1]
    # 32 rows, 2 ranks, batches of 4: 4 steps per epoch on each rank.
    assert df["step"].tolist() == [4, 8]
    assert df["train_loss"].iloc[1] < df["train_loss"].iloc[0]
    assert os.path.isfile(os.path.join(result.checkpoint.path, "checkpoint.ckpt"))
