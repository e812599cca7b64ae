"""TorchTrainer with real workers: DDP over gloo, distributed data loaders, mixed
precision on CPU."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ember import train  # noqa: E402
from ember.train import RunConfig, ScalingConfig  # noqa: E402
from ember.train.torch import TorchConfig, TorchTrainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("cluster")


def ddp_loop(config):
    import torch.distributed as dist
    from torch.utils.data import DataLoader, TensorDataset

    from ember.train.torch import accelerate, get_device, prepare_data_loader, prepare_model

    torch.manual_seed(train.get_context().get_world_rank())  # different initial weights
    accelerate(amp=config["amp"])
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    model = prepare_model(model, parallel_strategy=config["strategy"])
    dtypes = []
    inner = model.module if hasattr(model, "module") else model
    inner[0].register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.arange(64, dtype=torch.float32).reshape(16, 4) / 64
    data = TensorDataset(x, x.sum(1, keepdim=True), torch.arange(16))
    loader = prepare_data_loader(DataLoader(data, batch_size=4, shuffle=True))
    for epoch in range(2):
        seen = []
        for xb, yb, idx in loader:
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += idx.tolist()
        checksum = sum(p.detach().double().sum().item() for p in model.parameters())
        train.report({"epoch": epoch, "seen": sorted(seen), "checksum": checksum,
                      "backend": dist.get_backend(), "device": str(get_device()),
                      "out_dtype": str(model(x).dtype), "inner_dtype": str(dtypes[-1]),
                      "batches": len(loader)})


class PerRank(train.UserCallback):
    def __init__(self) -> None:
        self.metrics: list[list[dict]] = []

    def after_report(self, run_context, metrics, checkpoint) -> None:
        self.metrics.append(metrics)


def test_ddp_keeps_ranks_in_sync_and_splits_the_data_under_bf16_autocast(tmp_path):
    per_rank = PerRank()
    result = TorchTrainer(
        ddp_loop, train_loop_config={"amp": True, "strategy": "ddp"},
        scaling_config=ScalingConfig(num_workers=2),
        torch_config=TorchConfig(timeout_s=60),
        run_config=RunConfig(storage_path=str(tmp_path), callbacks=[per_rank])).fit()
    assert result.metrics["backend"] == "gloo" and result.metrics["device"] == "cpu"
    for epoch_metrics in per_rank.metrics:
        r0, r1 = epoch_metrics
        # DDP averaged the gradients: both ranks hold the same weights after every epoch,
        # although they started from different seeds.
        assert r0["checksum"] == pytest.approx(r1["checksum"], abs=1e-9)
        # The DistributedSampler gave each rank half of the data, disjoint.
        assert not set(r0["seen"]) & set(r1["seen"])
        assert sorted(r0["seen"] + r1["seen"]) == list(range(16))
        assert r0["batches"] == 2
    assert result.metrics["out_dtype"] == "torch.float32"
    # accelerate(amp=True): the layers ran in bf16 under autocast, outputs come back fp32.
    assert result.metrics["inner_dtype"] == "torch.bfloat16"


def fsdp_loop():
    from ember.train.torch import prepare_model

    torch.manual_seed(0)
    model = prepare_model(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 1)),
                          parallel_strategy="fsdp")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.arange(32, dtype=torch.float32).reshape(8, 4) / 32
    for _ in range(2):
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    weight = model[0].weight
    train.report({"loss": loss.item(), "local_rows": weight.to_local().shape[0],
                  "full_rows": weight.shape[0]})


def test_fsdp_on_cpu_shards_the_parameters(tmp_path):
    per_rank = PerRank()
    TorchTrainer(fsdp_loop, scaling_config=ScalingConfig(num_workers=2),
                 run_config=RunConfig(storage_path=str(tmp_path), callbacks=[per_rank])).fit()
    (r0, r1), = per_rank.metrics
    assert r0["full_rows"] == 8 and r0["local_rows"] == r1["local_rows"] == 4  # half each
    assert r0["loss"] == pytest.approx(r1["loss"])
