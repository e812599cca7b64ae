"""Action distributions built from an RLModule's `action_dist_inputs`.

Small wrappers over torch math rather than torch.distributions objects: the env runner
builds one per step, and argument validation and broadcasting checks cost more than the
sampling itself on small batches.
"""

from __future__ import annotations

import math

import gymnasium as gym
import torch
import torch.nn.functional as F

__all__ = ["TorchCategorical", "TorchDiagGaussian", "TorchDistribution",
           "TorchSquashedGaussian", "dist_class_for"]


class TorchDistribution:
    """Base: sample(), logp(actions), entropy(), kl(other), to_deterministic()."""

    @classmethod
    def from_logits(cls, logits: torch.Tensor) -> TorchDistribution:
        return cls(logits)

    @staticmethod
    def required_input_dim(space: gym.Space) -> int:
        raise NotImplementedError

    def sample(self) -> torch.Tensor:
        raise NotImplementedError

    def deterministic_sample(self) -> torch.Tensor:
        raise NotImplementedError

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def entropy(self) -> torch.Tensor:
        raise NotImplementedError

    def kl(self, other: TorchDistribution) -> torch.Tensor:
        raise NotImplementedError


class TorchCategorical(TorchDistribution):
    """A categorical distribution over `Discrete(n)` from unnormalized logits."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits - logits.logsumexp(-1, keepdim=True)

    @staticmethod
    def required_input_dim(space: gym.Space) -> int:
        return int(space.n)

    def sample(self) -> torch.Tensor:
        # Gumbel-max: one uniform draw per logit, no normalization pass.
        u = torch.rand_like(self.logits).clamp_(1e-10, 1.0)
        return (self.logits - torch.log(-torch.log(u))).argmax(-1)

    def deterministic_sample(self) -> torch.Tensor:
        return self.logits.argmax(-1)

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        return self.logits.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> torch.Tensor:
        return -(self.logits.exp() * self.logits).sum(-1)

    def kl(self, other: TorchDistribution) -> torch.Tensor:
        assert isinstance(other, TorchCategorical)
        return (self.logits.exp() * (self.logits - other.logits)).sum(-1)


class TorchDiagGaussian(TorchDistribution):
    """A diagonal Gaussian; inputs are [mean, log_std] concatenated on the last axis."""

    def __init__(self, inputs: torch.Tensor) -> None:
        self.mean, log_std = inputs.chunk(2, dim=-1)
        self.log_std = log_std.clamp(-20.0, 2.0)
        self.std = self.log_std.exp()

    @staticmethod
    def required_input_dim(space: gym.Space) -> int:
        return 2 * int(math.prod(space.shape))

    def sample(self) -> torch.Tensor:
        return self.mean + self.std * torch.randn_like(self.mean)

    def rsample(self) -> torch.Tensor:
        return self.sample()

    def deterministic_sample(self) -> torch.Tensor:
        return self.mean

    def logp(self, actions: torch.Tensor) -> torch.Tensor:
        z = (actions - self.mean) / self.std
        return (-0.5 * z.pow(2) - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (self.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)

    def kl(self, other: TorchDistribution) -> torch.Tensor:
        assert isinstance(other, TorchDiagGaussian)
        var_ratio = (self.std / other.std).pow(2)
        t1 = ((self.mean - other.mean) / other.std).pow(2)
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log()).sum(-1)


class TorchSquashedGaussian(TorchDiagGaussian):
    """tanh(Gaussian) scaled to [low, high]: SAC's policy distribution."""

    def __init__(self, inputs: torch.Tensor, low: float | torch.Tensor = -1.0,
                 high: float | torch.Tensor = 1.0) -> None:
        super().__init__(inputs)
        self.low, self.high = low, high

    def _squash(self, u: torch.Tensor) -> torch.Tensor:
        return self.low + (torch.tanh(u) + 1.0) * 0.5 * (self.high - self.low)

    def sample(self) -> torch.Tensor:
        return self._squash(self.mean + self.std * torch.randn_like(self.mean))

    def deterministic_sample(self) -> torch.Tensor:
        return self._squash(self.mean)

    def rsample_with_logp(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized sample and its log-probability (for SAC's actor loss)."""
        u = self.mean + self.std * torch.randn_like(self.mean)
        z = (u - self.mean) / self.std
        logp = (-0.5 * z.pow(2) - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        # log|d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), numerically stable.
        logp = logp - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
        scale = torch.as_tensor((self.high - self.low) * 0.5, dtype=u.dtype)
        logp = logp - torch.log(scale.expand(u.shape[-1:])).sum()
        return self._squash(u), logp


def dist_class_for(space: gym.Space) -> type[TorchDistribution]:
    """The default action distribution class for an action space."""
    if isinstance(space, gym.spaces.Discrete):
        return TorchCategorical
    if isinstance(space, gym.spaces.Box):
        return TorchDiagGaussian
    raise NotImplementedError(f"No default action distribution for {space}: give your "
                              "RLModule its own get_*_action_dist_cls().")
