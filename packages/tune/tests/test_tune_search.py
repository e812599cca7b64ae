"""Search algorithms: seeded random/grid variants, ConcurrencyLimiter and OptunaSearch."""

from __future__ import annotations

import pytest

from ember import tune
from ember.tune.search import BasicVariantGenerator, ConcurrencyLimiter, Searcher

optuna = pytest.importorskip("optuna")
from ember.tune.search.optuna import OptunaSearch  # noqa: E402


def variants(gen, space, num_samples):
    gen.set_search_properties(None, None, space, num_samples=num_samples)
    out = []
    while (v := gen.next_trial(f"t{len(out)}")) is not None:
        out.append(v)
    assert gen.is_finished()
    return out


SPACE = {"x": tune.uniform(-10, 10), "act": tune.grid_search(["relu", "tanh"]),
         "nested": {"k": tune.randint(0, 100)}}


def test_basic_variant_counts_grid_times_samples_and_is_seeded():
    a = variants(BasicVariantGenerator(random_state=7), SPACE, 3)
    b = variants(BasicVariantGenerator(random_state=7), SPACE, 3)
    c = variants(BasicVariantGenerator(random_state=8), SPACE, 3)
    assert len(a) == 6
    assert [v.config for v in a] == [v.config for v in b]
    assert [v.config for v in a] != [v.config for v in c]
    assert [v.config["act"] for v in a] == ["relu", "tanh"] * 3
    assert set(a[0].params) == {"x", "act", "nested/k"}
    assert a[0].tag.startswith("x=")


def test_points_to_evaluate_come_first():
    gen = BasicVariantGenerator(points_to_evaluate=[{"x": 1.5}, {"x": 2.5, "nested": {"k": 3}}],
                                random_state=0)
    out = variants(gen, {"x": tune.uniform(-10, 10), "nested": {"k": tune.randint(0, 100)}}, 3)
    assert [v.config["x"] for v in out[:2]] == [1.5, 2.5]
    assert out[1].config["nested"]["k"] == 3
    assert len(out) == 3


def test_constant_grid_search_keeps_random_values_across_the_grid():
    out = variants(BasicVariantGenerator(constant_grid_search=True, random_state=0), SPACE, 2)
    assert out[0].config["x"] == out[1].config["x"]
    assert out[2].config["x"] == out[3].config["x"] != out[0].config["x"]


class _Counter(Searcher):
    def __init__(self):
        super().__init__(metric="m", mode="max")
        self.n = 0
        self.completed = []

    def suggest(self, trial_id):
        self.n += 1
        return {"i": self.n}

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.completed.append(trial_id)


def test_concurrency_limiter_waits_for_completions():
    limited = ConcurrencyLimiter(_Counter(), max_concurrent=2)
    assert limited.suggest("a") == {"i": 1}
    assert limited.suggest("b") == {"i": 2}
    assert limited.suggest("c") is None
    limited.on_trial_complete("a", {"m": 1})
    assert limited.suggest("c") == {"i": 3}
    batch = ConcurrencyLimiter(_Counter(), max_concurrent=2, batch=True)
    batch.suggest("a"), batch.suggest("b")
    batch.on_trial_complete("a", {"m": 1})
    assert batch.suggest("c") is None  # the batch is not finished yet
    batch.on_trial_complete("b", {"m": 1})
    assert batch.suggest("c") == {"i": 3}


def quadratic(config):
    tune.report({"loss": (config["x"] - 3) ** 2 + (config["y"] + 1) ** 2})


def best_loss(cluster_space, search_alg, num_samples):
    results = tune.Tuner(
        quadratic, param_space=cluster_space,
        tune_config=tune.TuneConfig(metric="loss", mode="min", num_samples=num_samples,
                                    search_alg=search_alg, max_concurrent_trials=1),
        run_config=tune.RunConfig(verbose=0)).fit()
    assert len(results) == num_samples and not results.errors
    return results.get_best_result().metrics["loss"]


@pytest.mark.usefixtures("cluster")
def test_optuna_minimises_a_quadratic_better_than_random_search():
    space = {"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10)}
    budget = 40
    tpe = best_loss(space, OptunaSearch(seed=1), budget)
    rnd = best_loss(space, BasicVariantGenerator(random_state=1), budget)
    assert tpe < rnd, (tpe, rnd)
    assert tpe < 1.0


@pytest.mark.usefixtures("cluster")
def test_optuna_points_to_evaluate_and_space_argument():
    searcher = OptunaSearch(space={"x": tune.uniform(-10, 10), "y": tune.uniform(-10, 10)},
                            metric="loss", mode="min", seed=0,
                            points_to_evaluate=[{"x": 3.0, "y": -1.0}])
    results = tune.Tuner(quadratic, tune_config=tune.TuneConfig(num_samples=3,
                                                                search_alg=searcher),
                         run_config=tune.RunConfig(verbose=0)).fit()
    best = results.get_best_result(metric="loss", mode="min")
    assert best.config == {"x": 3.0, "y": -1.0} and best.metrics["loss"] == 0.0


@pytest.mark.usefixtures("cluster")
def test_optuna_define_by_run_space_and_evaluated_rewards():
    def space(trial):
        trial.suggest_float("x", -10, 10)
        trial.suggest_float("y", -10, 10)
        return {"fixed": 1}

    results = tune.Tuner(quadratic, tune_config=tune.TuneConfig(
        metric="loss", mode="min", num_samples=2,
        search_alg=OptunaSearch(space=space, seed=0))).fit()
    assert all(r.config["fixed"] == 1 for r in results)
    seeded = OptunaSearch(space={"x": tune.uniform(0, 1)}, metric="loss", mode="min",
                          points_to_evaluate=[{"x": 0.5}], evaluated_rewards=[0.25])
    assert len(seeded._study.trials) == 1


def test_optuna_refuses_what_it_cannot_search():
    with pytest.raises(ValueError, match="normal"):
        OptunaSearch(space={"x": tune.randn()}, metric="m", mode="min")
    with pytest.raises(ValueError, match="[Gg]rid"):
        OptunaSearch(space={"x": tune.grid_search([1, 2])}, metric="m", mode="min")
    searcher = OptunaSearch()
    with pytest.raises(ValueError, match="metric"):
        searcher.set_search_properties(None, None, {"x": tune.uniform(0, 1)})
    both = OptunaSearch(space={"x": tune.uniform(0, 1)}, metric="m", mode="min")
    with pytest.raises(ValueError, match="one place"):
        both.set_search_properties("m", "min", {"y": tune.uniform(0, 1)})


def test_optuna_converts_domains():
    s = OptunaSearch(space={"a": tune.loguniform(1e-3, 1), "b": tune.randint(0, 5),
                            "c": tune.qrandint(0, 10, 2), "d": tune.choice(["p", "q"]),
                            "e": {"f": tune.quniform(0, 1, 0.1)}}, metric="m", mode="max")
    dists = s._space
    assert dists["a"].log and dists["b"].high == 4 and dists["c"].step == 2
    assert dists["d"].choices == ("p", "q") and dists["e/f"].step == pytest.approx(0.1)
    config = s.suggest("t1")
    assert set(config) == {"a", "b", "c", "d", "e"} and set(config["e"]) == {"f"}
    s.on_trial_complete("t1", {"m": 1.0})
    assert s._study.trials[0].value == 1.0
