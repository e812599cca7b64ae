"""ember.tune: hyperparameter tuning on ember, with Ray Tune's API.

    from ember import tune

    def objective(config):
        tune.report({"loss": (config["x"] - 3) ** 2})

    results = tune.Tuner(
        objective,
        param_space={"x": tune.uniform(-10, 10)},
        tune_config=tune.TuneConfig(metric="loss", mode="min", num_samples=20),
    ).fit()
    print(results.get_best_result().config)

Subpackages: `ember.tune.search` (BasicVariantGenerator, ConcurrencyLimiter,
`search.optuna.OptunaSearch`), `ember.tune.schedulers`, `ember.tune.stopper`,
`ember.tune.logger`.
"""

from ember.tune import logger, schedulers, search, stopper
from ember.tune.analysis import ExperimentAnalysis, run
from ember.tune.callback import Callback
from ember.tune.checkpoint import Checkpoint
from ember.tune.config import CheckpointConfig, FailureConfig, RunConfig
from ember.tune.error import TuneError
from ember.tune.experiment.trial import Trial
from ember.tune.progress_reporter import CLIReporter, ProgressReporter
from ember.tune.registry import register_env, register_trainable
from ember.tune.resources import PlacementGroupFactory
from ember.tune.result import Result
from ember.tune.result_grid import ResultGrid
from ember.tune.search.sample import (
    choice,
    grid_search,
    lograndint,
    loguniform,
    qlograndint,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from ember.tune.session import TuneContext, get_checkpoint, get_context, report
from ember.tune.stopper import Stopper
from ember.tune.trainable import Trainable, with_parameters, with_resources
from ember.tune.tune_config import TuneConfig
from ember.tune.tuner import Tuner

__all__ = [
    "CLIReporter",
    "Callback",
    "Checkpoint",
    "CheckpointConfig",
    "ExperimentAnalysis",
    "FailureConfig",
    "PlacementGroupFactory",
    "ProgressReporter",
    "Result",
    "ResultGrid",
    "RunConfig",
    "Stopper",
    "Trainable",
    "Trial",
    "TuneConfig",
    "TuneContext",
    "TuneError",
    "Tuner",
    "choice",
    "get_checkpoint",
    "get_context",
    "grid_search",
    "logger",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "register_env",
    "register_trainable",
    "report",
    "run",
    "sample_from",
    "schedulers",
    "search",
    "stopper",
    "uniform",
    "with_parameters",
    "with_resources",
]
