"""TorchRLModule: an RLModule that is a torch.nn.Module."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from ember.rllib.core.rl_module.rl_module import RLModule

__all__ = ["TorchRLModule"]


class TorchRLModule(nn.Module, RLModule):
    """Subclass, build layers in setup(), implement `_forward` or the `_forward_*` trio."""

    framework = "torch"

    def __init__(self, **kwargs: Any) -> None:
        nn.Module.__init__(self)
        RLModule.__init__(self, **kwargs)

    def get_state(self, inference_only: bool = False) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in self.state_dict().items()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})

    def forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self.forward_train(batch, **kwargs)
