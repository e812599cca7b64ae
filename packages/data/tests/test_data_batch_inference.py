"""Batch inference: a model held by a callable class on an actor pool gives the same
results as running the model over the data in a plain loop."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.data as rd

pytestmark = pytest.mark.usefixtures("cluster")


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(16, 32)), rng.normal(size=(32, 4))


class NumpyMLP:
    """A two-layer 'model', built once per actor (counts its constructions)."""

    def __init__(self, w1, w2):
        self.w1, self.w2 = w1, w2
        self.calls = 0

    def __call__(self, batch):
        self.calls += 1
        h = np.maximum(batch["features"] @ self.w1, 0)
        logits = h @ self.w2
        return {"id": batch["id"], "pred": logits.argmax(axis=1), "logits": logits}


def _features(n, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 16))


def test_actor_pool_inference_matches_a_loop():
    w1, w2 = _weights()
    feats = _features(1000)
    ds = rd.from_numpy({"id": np.arange(1000), "features": feats}).repartition(10)
    out = ds.map_batches(NumpyMLP, fn_constructor_args=(w1, w2), batch_size=64,
                         concurrency=2, num_cpus=0.5).to_pandas()
    model = NumpyMLP(w1, w2)
    expected = [model({"id": np.array([i]), "features": feats[i:i + 1]}) for i in range(1000)]
    assert out["id"].tolist() == list(range(1000))
    assert out["pred"].tolist() == [int(e["pred"][0]) for e in expected]
    np.testing.assert_allclose(np.stack(out["logits"].to_numpy()),
                               np.concatenate([e["logits"] for e in expected]),
                               rtol=1e-9, atol=1e-12)  # BLAS round-off differs by batch shape


def test_model_is_constructed_once_per_actor_and_batches_are_bounded():
    class Counting:
        def __init__(self):
            self.pid = __import__("os").getpid()
            self.n = 0

        def __call__(self, batch):
            self.n += 1
            assert len(batch["id"]) <= 32
            return {"pid": np.full(len(batch["id"]), self.pid), "n": np.full(len(batch["id"]),
                                                                         self.n)}

    rows = rd.range(512, override_num_blocks=8).map_batches(
        Counting, batch_size=32, concurrency=2, num_cpus=0.5).take_all()
    pids = {r["pid"] for r in rows}
    assert 1 <= len(pids) <= 2
    per_pid = {p: max(r["n"] for r in rows if r["pid"] == p) for p in pids}
    assert sum(per_pid.values()) == 512 // 32  # state persisted across calls in each actor


def test_autoscaling_pool_and_model_from_object_ref():
    w1, w2 = _weights(3)
    ref = ember.put((w1, w2))

    class FromRef:
        def __init__(self, weights):
            self.model = NumpyMLP(*weights)

        def __call__(self, batch):
            return self.model(batch)

    feats = _features(200, seed=4)
    ds = rd.from_numpy({"id": np.arange(200), "features": feats})
    out = ds.map_batches(FromRef, fn_constructor_args=(ref,), batch_size=50,
                         concurrency=(1, 2), num_cpus=0.5).to_pandas()
    assert out["pred"].tolist() == NumpyMLP(w1, w2)({"id": None, "features": feats})[
        "pred"].tolist()


def test_torch_model_inference_matches_a_loop():
    torch = pytest.importorskip("torch")

    class TorchModel:
        def __init__(self):
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(16, 8), torch.nn.ReLU(),
                                           torch.nn.Linear(8, 3)).eval()

        def __call__(self, batch):
            with torch.inference_mode():
                out = self.net(torch.as_tensor(np.array(batch["features"]),
                                               dtype=torch.float32))
            return {"out": out.numpy()}

    feats = _features(300).astype(np.float32)
    ds = rd.from_numpy({"features": feats})
    got = np.stack(ds.map_batches(TorchModel, batch_size=32, concurrency=1)
                   .to_pandas()["out"].to_numpy())
    model = TorchModel()
    want = np.concatenate([model({"features": feats[i:i + 1]})["out"] for i in range(300)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
