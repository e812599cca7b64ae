"""Experiment bookkeeping: the Trial record that schedulers and callbacks receive."""

from ember.tune.experiment.trial import Trial

__all__ = ["Trial"]
