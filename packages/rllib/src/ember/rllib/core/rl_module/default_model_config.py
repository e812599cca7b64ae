"""DefaultModelConfig: the knobs of the default RLModules (RLlib's dataclass)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DefaultModelConfig"]


@dataclass
class DefaultModelConfig:
    """Sizes and activations of the default networks.

    fcnet_hiddens / fcnet_activation: the shared encoder (or the separate pi and vf
    trunks when vf_share_layers is False); head_fcnet_*: extra layers in each head.
    """

    fcnet_hiddens: list[int] = field(default_factory=lambda: [256, 256])
    fcnet_activation: str = "tanh"
    head_fcnet_hiddens: list[int] = field(default_factory=list)
    head_fcnet_activation: str = "relu"
    vf_share_layers: bool = False
    free_log_std: bool = False
    log_std_clip_param: float = 20.0
