"""Search-space primitives: Domains (Float, Integer, Categorical, Function) and helpers.

`tune.uniform(0, 1)` and friends return Domains that BasicVariantGenerator samples with a
seeded numpy Generator and that OptunaSearch translates into Optuna distributions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Categorical",
    "Domain",
    "Float",
    "Function",
    "Integer",
    "choice",
    "grid_search",
    "lograndint",
    "loguniform",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "uniform",
]

Rng = np.random.Generator


def _rng(random_state: Any) -> Rng:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


class Sampler:
    """How a Domain draws values; subclasses per distribution."""

    def sample(self, domain: Domain, rng: Rng) -> Any:
        raise NotImplementedError


class _Uniform(Sampler):
    def sample(self, domain: Domain, rng: Rng) -> Any:
        if isinstance(domain, Categorical):
            return domain.categories[int(rng.integers(0, len(domain.categories)))]
        if isinstance(domain, Integer):
            return int(rng.integers(domain.lower, domain.upper))
        return float(rng.uniform(domain.lower, domain.upper))

    def __str__(self) -> str:
        return "Uniform"


class _LogUniform(Sampler):
    def __init__(self, base: float = 10) -> None:
        self.base = base

    def sample(self, domain: Domain, rng: Rng) -> Any:
        lo = math.log(domain.lower) / math.log(self.base)
        hi = math.log(domain.upper) / math.log(self.base)
        value = self.base ** float(rng.uniform(lo, hi))
        if isinstance(domain, Integer):
            return int(min(max(math.floor(value), domain.lower), domain.upper - 1))
        return float(min(max(value, domain.lower), domain.upper))

    def __str__(self) -> str:
        return "LogUniform"


class _Normal(Sampler):
    def __init__(self, mean: float = 0.0, sd: float = 1.0) -> None:
        self.mean = mean
        self.sd = sd

    def sample(self, domain: Domain, rng: Rng) -> Any:
        return float(rng.normal(self.mean, self.sd))

    def __str__(self) -> str:
        return "Normal"


class _Quantized(Sampler):
    def __init__(self, inner: Sampler, q: float) -> None:
        self.inner = inner
        self.q = q

    def sample(self, domain: Domain, rng: Rng) -> Any:
        value = self.inner.sample(domain, rng)
        quantized = round(value / self.q) * self.q
        # Keep the quantized value inside the bounds (rounding may step past them).
        lower, upper = getattr(domain, "lower", None), getattr(domain, "upper", None)
        if lower is not None and quantized < lower:
            quantized += self.q
        if upper is not None and quantized > upper:
            quantized -= self.q
        if isinstance(domain, Integer):
            return int(quantized)
        return float(round(quantized, 12))

    def __str__(self) -> str:
        return f"Quantized({self.inner})"


class Domain:
    """A set of values to draw a hyperparameter from, with the sampler to draw with."""

    sampler: Sampler | None = None
    default_sampler_cls: type[Sampler] = _Uniform

    def get_sampler(self) -> Sampler:
        return self.sampler or self.default_sampler_cls()

    def sample(self, config: Any = None, size: int = 1, random_state: Any = None) -> Any:
        """Draw one value (or a list of `size` values)."""
        rng = _rng(random_state)
        sampler = self.get_sampler()
        values = [sampler.sample(self, rng) for _ in range(size)]
        return values[0] if size == 1 else values

    def is_grid(self) -> bool:
        return False

    def is_function(self) -> bool:
        return False

    def is_valid(self, value: Any) -> bool:
        raise NotImplementedError

    @property
    def domain_str(self) -> str:
        return "(unknown)"

    def _with(self, sampler: Sampler) -> Domain:
        if self.sampler is not None and not isinstance(sampler, _Quantized):
            raise ValueError(f"You can only choose one sampler for a {type(self).__name__} "
                             f"domain (it already has {self.sampler}).")
        self.sampler = sampler
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.domain_str} {self.get_sampler()}>"


class Float(Domain):
    """Real values in [lower, upper] (bounds may be None for normal sampling)."""

    def __init__(self, lower: float | None, upper: float | None) -> None:
        self.lower = float(lower) if lower is not None else None
        self.upper = float(upper) if upper is not None else None

    def uniform(self) -> Float:
        if self.lower is None or self.upper is None:
            raise ValueError("Uniform sampling needs both a lower and an upper bound.")
        return self._with(_Uniform())

    def loguniform(self, base: float = 10) -> Float:
        if self.lower is None or self.upper is None or self.lower <= 0 or self.upper <= 0:
            raise ValueError("LogUniform requires a lower bound greater than 0, got "
                             f"{self.lower}. Use uniform() for sampling from negative values.")
        return self._with(_LogUniform(base))

    def normal(self, mean: float = 0.0, sd: float = 1.0) -> Float:
        return self._with(_Normal(mean, sd))

    def quantized(self, q: float) -> Float:
        if q <= 0:
            raise ValueError(f"Quantization q must be > 0, got {q}.")
        return self._with(_Quantized(self.get_sampler(), q))

    def is_valid(self, value: Any) -> bool:
        return ((self.lower is None or value >= self.lower)
                and (self.upper is None or value <= self.upper))

    @property
    def domain_str(self) -> str:
        return f"({self.lower}, {self.upper})"


class Integer(Domain):
    """Integers in [lower, upper) (the upper bound is exclusive, as in randint)."""

    def __init__(self, lower: int, upper: int) -> None:
        self.lower = int(lower)
        self.upper = int(upper)
        if self.upper <= self.lower:
            raise ValueError(f"Integer domain needs lower < upper, got ({lower}, {upper}).")

    def uniform(self) -> Integer:
        return self._with(_Uniform())

    def loguniform(self, base: float = 10) -> Integer:
        if self.lower <= 0:
            raise ValueError(f"LogUniform requires a lower bound greater than 0, got "
                             f"{self.lower}.")
        return self._with(_LogUniform(base))

    def quantized(self, q: int) -> Integer:
        if q <= 0 or int(q) != q:
            raise ValueError(f"Integer quantization q must be a positive integer, got {q}.")
        return self._with(_Quantized(self.get_sampler(), int(q)))

    def is_valid(self, value: Any) -> bool:
        return self.lower <= value <= self.upper

    @property
    def domain_str(self) -> str:
        return f"({self.lower}, {self.upper})"


class Categorical(Domain):
    """One of a list of values."""

    def __init__(self, categories: Sequence[Any]) -> None:
        self.categories = list(categories)
        if not self.categories:
            raise ValueError("choice() needs at least one category.")

    def uniform(self) -> Categorical:
        return self._with(_Uniform())

    def is_valid(self, value: Any) -> bool:
        return value in self.categories

    def __len__(self) -> int:
        return len(self.categories)

    def __getitem__(self, i: int) -> Any:
        return self.categories[i]

    @property
    def domain_str(self) -> str:
        return f"{self.categories}"


class Function(Domain):
    """A value computed by `func(spec)`, where `spec.config` is the resolved config so far."""

    def __init__(self, func: Callable[..., Any]) -> None:
        import inspect

        self.func = func
        try:
            self.pass_spec = len(inspect.signature(func).parameters) > 0
        except (TypeError, ValueError):
            self.pass_spec = True

    def sample(self, config: Any = None, size: int = 1, random_state: Any = None) -> Any:
        values = [self.func(config) if self.pass_spec else self.func() for _ in range(size)]
        return values[0] if size == 1 else values

    def is_function(self) -> bool:
        return True

    def is_valid(self, value: Any) -> bool:
        return True

    @property
    def domain_str(self) -> str:
        return f"{self.func}()"


def uniform(lower: float, upper: float) -> Float:
    """A float drawn uniformly from [lower, upper]."""
    return Float(lower, upper).uniform()


def quniform(lower: float, upper: float, q: float) -> Float:
    """A float drawn uniformly from [lower, upper], rounded to a multiple of q."""
    return Float(lower, upper).uniform().quantized(q)


def loguniform(lower: float, upper: float, base: float = 10) -> Float:
    """A float whose logarithm is uniform between log(lower) and log(upper)."""
    return Float(lower, upper).loguniform(base)


def qloguniform(lower: float, upper: float, q: float, base: float = 10) -> Float:
    """A log-uniform float rounded to a multiple of q."""
    return Float(lower, upper).loguniform(base).quantized(q)


def randn(mean: float = 0.0, sd: float = 1.0) -> Float:
    """A float drawn from a normal distribution."""
    return Float(None, None).normal(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> Float:
    """A normal float rounded to a multiple of q."""
    return Float(None, None).normal(mean, sd).quantized(q)


def randint(lower: int, upper: int) -> Integer:
    """An integer drawn uniformly from [lower, upper) (upper exclusive)."""
    return Integer(lower, upper).uniform()


def qrandint(lower: int, upper: int, q: int = 1) -> Integer:
    """An integer from [lower, upper] (upper inclusive), rounded to a multiple of q."""
    return Integer(lower, upper).uniform().quantized(q)


def lograndint(lower: int, upper: int, base: float = 10) -> Integer:
    """A log-uniform integer from [lower, upper) (upper exclusive)."""
    return Integer(lower, upper).loguniform(base)


def qlograndint(lower: int, upper: int, q: int, base: float = 10) -> Integer:
    """A log-uniform integer from [lower, upper] (upper inclusive), a multiple of q."""
    return Integer(lower, upper).loguniform(base).quantized(q)


def choice(categories: Sequence[Any]) -> Categorical:
    """One of `categories`, drawn uniformly."""
    return Categorical(categories).uniform()


def grid_search(values: Sequence[Any]) -> dict[str, list[Any]]:
    """Try every value in `values` (each combination with the other grid axes)."""
    return {"grid_search": list(values)}


def sample_from(func: Callable[..., Any]) -> Function:
    """A value computed by `func(spec)`; `spec.config` holds the other resolved values."""
    return Function(func)
