"""Trainables: the class API, function trainables and their wrappers."""

from ember.tune.trainable.function_trainable import FunctionTrainable, wrap_function
from ember.tune.trainable.trainable import Trainable
from ember.tune.trainable.util import with_parameters, with_resources

__all__ = ["FunctionTrainable", "Trainable", "with_parameters", "with_resources", "wrap_function"]
