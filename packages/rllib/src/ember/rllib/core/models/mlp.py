"""Fully connected stacks from a DefaultModelConfig."""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn

__all__ = ["activation", "mlp"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "swish": nn.SiLU,
                "silu": nn.SiLU, "linear": nn.Identity, None: nn.Identity}


def activation(name: str | None) -> type[nn.Module]:
    """The torch module class for an RLlib activation name ("tanh", "relu", ...)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}; use one of "
                         f"{sorted(k for k in _ACTIVATIONS if k)}.") from None


def mlp(in_dim: int, hiddens: Sequence[int], act: str | None, out_dim: int | None = None,
        out_gain: float = 1.0) -> nn.Sequential:
    """Linear+activation layers over `hiddens`, then an optional linear output layer.

    Orthogonal initialization (as CleanRL and SB3 do): it speeds up early learning.
    """
    layers: list[nn.Module] = []
    d = in_dim
    for h in hiddens:
        lin = nn.Linear(d, h)
        nn.init.orthogonal_(lin.weight, gain=2 ** 0.5)
        nn.init.zeros_(lin.bias)
        layers += [lin, activation(act)()]
        d = h
    if out_dim is not None:
        lin = nn.Linear(d, out_dim)
        nn.init.orthogonal_(lin.weight, gain=out_gain)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
    return nn.Sequential(*layers)
