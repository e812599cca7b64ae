"""Search algorithms: BasicVariantGenerator (grid/random), Searcher, ConcurrencyLimiter.

OptunaSearch lives in `ember.tune.search.optuna` (it needs the optuna package).
"""

from ember.tune.search.basic_variant import BasicVariantGenerator
from ember.tune.search.concurrency_limiter import ConcurrencyLimiter
from ember.tune.search.search_algorithm import SearchAlgorithm, SearchGenerator
from ember.tune.search.searcher import Searcher

__all__ = [
    "BasicVariantGenerator",
    "ConcurrencyLimiter",
    "SearchAlgorithm",
    "SearchGenerator",
    "Searcher",
]
