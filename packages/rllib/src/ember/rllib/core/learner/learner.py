"""Learner: owns the trainable RLModules, their optimizers and the update loop.

An algorithm's learner subclass implements compute_loss_for_module(); the base runs the
learner connector (e.g. advantages), iterates epochs and minibatches, averages gradients
across learner actors when there are several (ember.util.collective.allreduce), clips
them and steps the optimizers. Metrics come back per module id, as RLlib reports them
under result["learners"][module_id].
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch

from ember.rllib.connectors.connector_v2 import ConnectorV2, make_pipeline
from ember.rllib.core import ALL_MODULES
from ember.rllib.core.rl_module.multi_rl_module import MultiRLModule, MultiRLModuleSpec
from ember.rllib.utils.schedules import Scheduler

__all__ = ["Learner", "TorchLearner"]

Batch = dict[str, Any]


class TorchLearner:
    """The base learner; see the module docstring."""

    def __init__(self, config: Any, module_spec: MultiRLModuleSpec | None = None,
                 module: MultiRLModule | None = None, rank: int = 0, world_size: int = 1,
                 group_name: str | None = None) -> None:
        self.config = config
        self.rank, self.world_size, self.group_name = rank, world_size, group_name
        torch.set_num_threads(max(1, int(config.torch_num_threads)))
        self.module: MultiRLModule = module if module is not None else module_spec.build()
        self._optimizers: dict[str, list[tuple[str, torch.optim.Optimizer, Any]]] = {}
        self._metrics: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self._num_updates = 0
        self.configure_optimizers()
        self._connector = make_pipeline(config.learner_connector, None,
                                        builtin=self.builtin_learner_connectors())

    # ----- what subclasses customize ---------------------------------------------------
    def builtin_learner_connectors(self) -> list[ConnectorV2]:
        """Pieces that turn a sampled batch into a train batch (e.g. advantages)."""
        return []

    def configure_optimizers(self) -> None:
        for mid in self.module_ids_to_train():
            self.configure_optimizers_for_module(mid)

    def configure_optimizers_for_module(self, module_id: str) -> None:
        """One Adam over the module's parameters at config.lr (a value or schedule)."""
        params = [p for p in self.module[module_id].parameters() if p.requires_grad]
        self.register_optimizer(module_id, "default_optimizer", params, self.config.lr)

    def register_optimizer(self, module_id: str, name: str, params: list[torch.nn.Parameter],
                           lr: Any) -> torch.optim.Optimizer:
        sched = Scheduler(lr)
        opt = torch.optim.Adam(params, lr=sched.value(0), eps=self.config.adam_epsilon)
        self._optimizers.setdefault(module_id, []).append((name, opt, sched))
        return opt

    def compute_loss_for_module(self, module_id: str, batch: Batch,
                                fwd_out: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement "
                                  "compute_loss_for_module().")

    def after_gradient_based_update(self, timesteps: int) -> None:
        """Hook after each update() call (KL coefficient, target networks, ...)."""

    # ----- helpers ---------------------------------------------------------------------
    def module_ids_to_train(self) -> list[str]:
        pol = self.config.policies_to_train
        mids = self.module.keys()
        if pol is None:
            return mids
        if callable(pol):
            return [m for m in mids if pol(m, None)]
        return [m for m in mids if m in pol]

    def log(self, module_id: str, **values: Any) -> None:
        """Record metric values (floats or tensors) for this update's results."""
        for k, v in values.items():
            self._metrics[module_id][k].append(
                v.item() if isinstance(v, torch.Tensor) else float(v))

    def optimizer(self, module_id: str, name: str = "default_optimizer") -> torch.optim.Optimizer:
        for n, opt, _ in self._optimizers[module_id]:
            if n == name:
                return opt
        raise KeyError(f"No optimizer {name!r} for module {module_id!r}.")

    @staticmethod
    def to_tensors(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        out = {}
        for k, v in batch.items():
            if isinstance(v, np.ndarray) and v.dtype != object:
                if not v.flags.writeable:  # a read-only view of the object store
                    v = v.copy()
                t = torch.from_numpy(np.ascontiguousarray(v))
                out[k] = t.float() if t.dtype == torch.float64 else t
            else:
                out[k] = v
        return out

    # ----- the update loop -------------------------------------------------------------
    def update(self, batches: dict[str, Batch], minibatch_size: int | None = None,
               num_epochs: int = 1, timesteps: int = 0,
               shuffle: bool = True) -> dict[str, dict[str, float]]:
        """Train on {module_id: numpy batch}; returns metrics averaged over minibatches."""
        for name_opts in self._optimizers.values():
            for _, opt, sched in name_opts:
                for g in opt.param_groups:
                    g["lr"] = sched.value(timesteps)
        batches = self._connector(rl_module=self.module, batch=batches,
                                  shared_data={"timesteps": timesteps})
        for mid in self.module_ids_to_train():
            if mid not in batches:
                continue
            tb = self.to_tensors(batches[mid])
            n = len(next(iter(tb.values())))
            mb = min(int(minibatch_size or n), n)
            iters = max(1, n // mb)
            for _ in range(num_epochs):
                if iters == 1 and mb == n:
                    self._step_module(mid, tb)
                    continue
                perm = torch.randperm(n) if shuffle else torch.arange(n)
                for i in range(iters):
                    idx = perm[i * mb:(i + 1) * mb]
                    mbatch = {k: v[idx] if isinstance(v, torch.Tensor) else v
                              for k, v in tb.items()}
                    self._step_module(mid, mbatch)
            self.log(mid, num_module_steps_trained=float(n * num_epochs))
        self._num_updates += 1
        self.after_gradient_based_update(timesteps)
        return self.pop_metrics()

    def _step_module(self, mid: str, mbatch: Batch) -> None:
        fwd = self.module[mid].forward_train(mbatch)
        loss = self.compute_loss_for_module(mid, mbatch, fwd)
        opts = self._optimizers[mid]
        for _, opt, _ in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for _, opt, _ in opts:
            self.apply_gradients(mid, opt)

    def apply_gradients(self, mid: str, opt: torch.optim.Optimizer) -> None:
        """Average gradients over learners, clip them by global norm, step."""
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if self.world_size > 1:
            self._allreduce(params)
        if self.config.grad_clip is not None and params:
            norm = torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
            self.log(mid, gradients_default_optimizer_global_norm=float(norm))
        opt.step()

    def _allreduce(self, params: list[torch.nn.Parameter]) -> None:
        import ember.util.collective as col

        flat = torch.cat([p.grad.reshape(-1) for p in params])
        col.allreduce(flat, group_name=self.group_name)
        flat /= self.world_size
        i = 0
        for p in params:
            k = p.grad.numel()
            p.grad.copy_(flat[i:i + k].view_as(p.grad))
            i += k

    def pop_metrics(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for mid, vals in self._metrics.items():
            out[mid] = {k: (float(np.sum(v)) if k.startswith("num_") else float(np.mean(v)))
                        for k, v in vals.items()}
        for mid, opts in self._optimizers.items():
            for name, opt, _ in opts:
                out.setdefault(mid, {})[f"{name}_learning_rate"] = opt.param_groups[0]["lr"]
        trained = sum(m.get("num_module_steps_trained", 0.0) for m in out.values())
        out[ALL_MODULES] = {"num_module_steps_trained": trained,
                            "num_trainable_parameters": float(sum(
                                p.numel() for p in self.module.parameters()))}
        self._metrics.clear()
        return out

    # ----- state -----------------------------------------------------------------------
    def get_weights(self, module_ids: list[str] | None = None) -> dict[str, Any]:
        return self.module.get_state(module_ids, inference_only=True)

    def set_weights(self, weights: dict[str, Any]) -> None:
        self.module.set_state(weights)

    def get_state(self) -> dict[str, Any]:
        return {"rl_module": self.module.get_state(),
                "optimizers": {mid: {n: o.state_dict() for n, o, _ in opts}
                               for mid, opts in self._optimizers.items()},
                "extra": self.get_extra_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.module.set_state(state["rl_module"])
        for mid, opts in self._optimizers.items():
            for n, o, _ in opts:
                saved = state.get("optimizers", {}).get(mid, {}).get(n)
                if saved is not None:
                    o.load_state_dict(saved)
        self.set_extra_state(state.get("extra", {}))

    def get_extra_state(self) -> dict[str, Any]:
        return {}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def ping(self) -> str:
        return "pong"


Learner = TorchLearner
