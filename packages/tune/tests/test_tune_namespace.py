"""`ember.tune` joins the core's `ember` namespace, and its public names are exported."""

from __future__ import annotations

import subprocess
import sys

import ember
import ember.tune
from ember import tune


def test_import_alongside_core():
    assert ember.tune is tune
    assert hasattr(ember, "init") and hasattr(tune, "Tuner")


def test_import_in_a_fresh_interpreter():
    code = "import ember, ember.tune; from ember.tune.search.optuna import OptunaSearch; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "ok"


def test_exported_members_are_sorted_and_present():
    assert tune.__all__ == sorted(tune.__all__)
    for name in tune.__all__:
        assert hasattr(tune, name), name
    for mod in (tune.search, tune.schedulers, tune.logger, tune.stopper):
        exported = getattr(mod, "__all__", [])
        assert exported == sorted(exported), mod.__name__
        for name in exported:
            assert hasattr(mod, name), (mod.__name__, name)


def test_ray_tune_names_exist():
    for name in ["Tuner", "TuneConfig", "RunConfig", "CheckpointConfig", "FailureConfig",
                 "Checkpoint", "Result", "ResultGrid", "report", "get_checkpoint",
                 "get_context", "with_resources", "with_parameters", "Trainable", "Stopper",
                 "uniform", "quniform", "loguniform", "qloguniform", "randn", "randint",
                 "choice", "grid_search", "sample_from", "Callback", "CLIReporter"]:
        assert hasattr(tune, name), name
    from ember.tune.schedulers import (  # noqa: F401
        ASHAScheduler,
        FIFOScheduler,
        HyperBandScheduler,
        MedianStoppingRule,
        PopulationBasedTraining,
    )
    from ember.tune.search import BasicVariantGenerator, ConcurrencyLimiter  # noqa: F401
    from ember.tune.stopper import (  # noqa: F401
        CombinedStopper,
        MaximumIterationStopper,
        TimeoutStopper,
        TrialPlateauStopper,
    )


def test_import_does_not_load_pandas_or_optuna():
    code = ("import sys, ember.tune; "
            "print('pandas' in sys.modules, 'optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_register_env_is_found_by_name():
    from ember import tune
    from ember.tune.registry import get_env_creator

    tune.register_env("my_env", lambda cfg: ("env", cfg))
    assert get_env_creator("my_env")({"a": 1}) == ("env", {"a": 1})
    import pytest

    with pytest.raises(TypeError):
        tune.register_env("bad", 3)


def test_rllib_algorithm_names_resolve_without_importing_rllib_first():
    import subprocess
    import sys

    code = ("from ember.tune.registry import get_trainable; "
            "print(get_trainable('PPO').__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "PPO"


def test_param_space_may_be_a_config_object():
    from ember import tune

    class Config:
        def to_dict(self):
            return {"lr": tune.grid_search([0.1, 0.2])}

    def trainable(config):
        tune.report({"lr": config["lr"]})

    tuner = tune.Tuner(trainable, param_space=Config())
    assert tuner._param_space == {"lr": tune.grid_search([0.1, 0.2])}
