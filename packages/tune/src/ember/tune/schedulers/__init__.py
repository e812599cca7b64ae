"""Trial schedulers: FIFO, ASHA, HyperBand, median stopping and PBT."""

from ember.tune.schedulers.async_hyperband import ASHAScheduler, AsyncHyperBandScheduler
from ember.tune.schedulers.hyperband import HyperBandScheduler
from ember.tune.schedulers.median_stopping_rule import MedianStoppingRule
from ember.tune.schedulers.pbt import PopulationBasedTraining
from ember.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler

__all__ = [
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "FIFOScheduler",
    "HyperBandScheduler",
    "MedianStoppingRule",
    "PopulationBasedTraining",
    "TrialScheduler",
]
