"""GPU batch inference (skipped without torch and a CUDA device): a torch model on an
actor pool with num_gpus=1 matches the same model run on the CPU in a loop."""

from __future__ import annotations

import numpy as np
import pytest

import ember.data as rd

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.usefixtures("cluster"),
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, 10)).eval()


class GpuModel:
    def __init__(self):
        self.net = _net().cuda()

    def __call__(self, batch):
        x = torch.as_tensor(np.array(batch["features"]), device="cuda")
        with torch.inference_mode():
            out = self.net(x)
        return {"logits": out.cpu().numpy(), "device": np.array([str(x.device)] * len(x))}


def test_gpu_actor_pool_matches_cpu_loop():
    feats = np.random.default_rng(0).normal(size=(2048, 32)).astype(np.float32)
    ds = rd.from_numpy({"features": feats}).repartition(8)
    out = ds.map_batches(GpuModel, batch_size=256, concurrency=1, num_gpus=1).to_pandas()
    assert set(out["device"]) == {"cuda:0"}
    got = np.stack(out["logits"].to_numpy())
    net = _net()
    with torch.inference_mode():
        want = np.concatenate([net(torch.as_tensor(feats[i:i + 1])).numpy()
                               for i in range(len(feats))])
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)  # TF32/cuBLAS vs CPU


def test_iter_torch_batches_to_cuda():
    batches = list(rd.range(100).iter_torch_batches(batch_size=32, device="cuda",
                                                    dtypes=torch.float32))
    assert batches[0]["id"].is_cuda and batches[0]["id"].dtype == torch.float32
    assert sum(len(b["id"]) for b in batches) == 100
