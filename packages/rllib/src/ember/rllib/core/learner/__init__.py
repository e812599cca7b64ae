"""Learners and the LearnerGroup that runs them."""

from ember.rllib.core.learner.learner import Learner, TorchLearner
from ember.rllib.core.learner.learner_group import LearnerGroup

__all__ = ["Learner", "LearnerGroup", "TorchLearner"]
