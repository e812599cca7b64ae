"""Search spaces: every domain samples inside its bounds, grids expand, functions resolve."""

from __future__ import annotations

import numpy as np
import pytest

from ember import tune
from ember.tune.search.variant_generator import grid_point, parse_spec, resolve


def draws(domain, n=200, seed=0):
    rng = np.random.default_rng(seed)
    return [domain.sample(random_state=rng) for _ in range(n)]


def test_uniform_and_quniform_bounds():
    assert all(-1 <= v <= 2 for v in draws(tune.uniform(-1, 2)))
    values = draws(tune.quniform(0, 1, 0.25))
    assert set(values) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert len(set(values)) > 2


def test_loguniform_spans_decades():
    values = draws(tune.loguniform(1e-4, 1e-1))
    assert all(1e-4 <= v <= 1e-1 for v in values)
    assert min(values) < 1e-3 < max(values)
    assert all(round(v / 1e-4) * 1e-4 == pytest.approx(v)
               for v in draws(tune.qloguniform(1e-4, 1e-1, 1e-4)))


def test_randn_and_qrandn():
    values = draws(tune.randn(10, 2), n=500)
    assert abs(np.mean(values) - 10) < 0.5
    assert all(float(v * 2).is_integer() for v in draws(tune.qrandn(0, 1, 0.5)))


def test_integer_domains():
    assert set(draws(tune.randint(0, 3))) == {0, 1, 2}  # upper bound exclusive
    assert set(draws(tune.qrandint(0, 10, 5))) <= {0, 5, 10}  # upper bound inclusive
    assert 10 in draws(tune.qrandint(0, 10, 5))
    values = draws(tune.lograndint(1, 1000))
    assert all(isinstance(v, int) and 1 <= v < 1000 for v in values)
    assert all(v % 10 == 0 for v in draws(tune.qlograndint(10, 1000, 10)))


def test_choice():
    assert set(draws(tune.choice(["a", "b", "c"]))) == {"a", "b", "c"}


def test_invalid_domains_raise():
    with pytest.raises(ValueError, match="LogUniform"):
        tune.loguniform(0, 1)
    with pytest.raises(ValueError):
        tune.randint(5, 5)
    with pytest.raises(ValueError):
        tune.choice([])


def test_grid_search_expands_first_axis_fastest():
    spec = {"a": tune.grid_search([1, 2]), "b": tune.grid_search(["x", "y", "z"])}
    grids, _, _ = parse_spec(spec)
    combos = [dict((p[0], v) for p, v in grid_point(grids, i)) for i in range(6)]
    assert combos[:3] == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}, {"a": 1, "b": "y"}]
    assert len({tuple(sorted(c.items())) for c in combos}) == 6


def test_nested_dicts_lists_and_sample_from():
    spec = {"model": {"layers": [tune.choice([16, 32]), 8], "lr": tune.uniform(0, 1)},
            "double_lr": tune.sample_from(lambda spec: spec.config.model["lr"] * 2),
            "const": "keep"}
    config, chosen = resolve(spec, np.random.default_rng(0))
    assert config["model"]["layers"][0] in (16, 32) and config["model"]["layers"][1] == 8
    assert config["double_lr"] == pytest.approx(config["model"]["lr"] * 2)
    assert config["const"] == "keep"
    assert ("model", "lr") in chosen and ("double_lr",) in chosen
    assert isinstance(spec["model"]["lr"], tune.search.sample.Float)  # spec untouched


def test_sample_from_without_arguments():
    config, _ = resolve({"v": tune.sample_from(lambda: 7)}, np.random.default_rng(0))
    assert config == {"v": 7}
