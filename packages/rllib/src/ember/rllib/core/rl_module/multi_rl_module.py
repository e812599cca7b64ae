"""MultiRLModule: one RLModule per module id (policy), as one torch module."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn

from ember.rllib.core.rl_module.rl_module import RLModule, RLModuleSpec

__all__ = ["MultiRLModule", "MultiRLModuleSpec"]


class MultiRLModule(nn.Module):
    """A dict of RLModules keyed by module id; forward passes take {module_id: batch}."""

    def __init__(self, rl_modules: dict[str, RLModule] | None = None) -> None:
        super().__init__()
        self._rl_modules = nn.ModuleDict()
        for mid, module in (rl_modules or {}).items():
            self.add_module_(mid, module)

    def add_module_(self, module_id: str, module: RLModule) -> None:
        self._rl_modules[module_id] = module  # type: ignore[assignment]

    def add_rl_module(self, module_id: str, module: RLModule) -> None:
        """Add (or replace) the module of `module_id`."""
        self.add_module_(module_id, module)

    def remove_module(self, module_id: str) -> None:
        del self._rl_modules[module_id]

    def __getitem__(self, module_id: str) -> RLModule:
        try:
            return self._rl_modules[module_id]  # type: ignore[return-value]
        except KeyError:
            raise KeyError(f"No RLModule {module_id!r}; have {sorted(self.keys())}.") from None

    def __contains__(self, module_id: object) -> bool:
        return module_id in self._rl_modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._rl_modules)

    def __len__(self) -> int:
        return len(self._rl_modules)

    def keys(self) -> list[str]:
        return list(self._rl_modules.keys())

    def items(self) -> list[tuple[str, RLModule]]:
        return list(self._rl_modules.items())  # type: ignore[arg-type]

    def _run(self, fn: str, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return {mid: getattr(self[mid], fn)(b, **kw) for mid, b in batch.items()}

    def forward_inference(self, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self._run("forward_inference", batch, **kw)

    def forward_exploration(self, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self._run("forward_exploration", batch, **kw)

    def forward_train(self, batch: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return self._run("forward_train", batch, **kw)

    def get_state(self, module_ids: list[str] | None = None,
                  inference_only: bool = False) -> dict[str, Any]:
        """{module_id: weights} for all (or the given) modules."""
        return {mid: m.get_state(inference_only) for mid, m in self.items()
                if module_ids is None or mid in module_ids}

    def set_state(self, state: dict[str, Any]) -> None:
        for mid, s in state.items():
            if mid in self:
                self[mid].set_state(s)

    def save_to_path(self, path: str | os.PathLike) -> str:
        """Each module into `path/<module_id>` (readable by RLModule.from_checkpoint)."""
        path = pathlib.Path(path)
        for mid, m in self.items():
            m.save_to_path(path / mid)
        return str(path)


@dataclass
class MultiRLModuleSpec:
    """Specs of several modules: {module_id: RLModuleSpec}."""

    multi_rl_module_class: type[MultiRLModule] = MultiRLModule
    rl_module_specs: dict[str, RLModuleSpec] = field(default_factory=dict)

    def build(self, module_id: str | None = None) -> MultiRLModule | RLModule:
        """Build every module into a MultiRLModule (or only `module_id`'s module)."""
        if module_id is not None:
            return self.rl_module_specs[module_id].build()
        return self.multi_rl_module_class({mid: s.build()
                                           for mid, s in self.rl_module_specs.items()})
