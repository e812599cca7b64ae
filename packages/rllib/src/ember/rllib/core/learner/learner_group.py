"""LearnerGroup: one local learner, or learner actors that average gradients.

num_learners=0 trains in the driver. With num_learners=N >= 1 the learners are ember
actors; with N > 1 they form an `ember.util.collective` gloo group, each trains on its
shard of every batch, and gradients are averaged with allreduce before each optimizer
step, so all copies stay identical (as torch DDP keeps them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

import ember
from ember.rllib.core.columns import Columns
from ember.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec

__all__ = ["LearnerGroup"]


class _LearnerActor:
    """Hosts one learner in an actor process."""

    def __init__(self, config: Any, learner_class: type, spec: MultiRLModuleSpec, rank: int,
                 world_size: int, group_name: str) -> None:
        self.learner = learner_class(config, module_spec=spec, rank=rank,
                                     world_size=world_size, group_name=group_name)
        self.rank, self.world_size, self.group_name = rank, world_size, group_name

    def init_collective(self) -> bool:
        import ember.util.collective as col

        col.init_collective_group(self.world_size, self.rank, backend="gloo",
                                  group_name=self.group_name)
        return True

    def update(self, *args: Any, **kwargs: Any) -> dict:
        return self.learner.update(*args, **kwargs)

    def get_weights(self, module_ids: list[str] | None = None) -> dict:
        return self.learner.get_weights(module_ids)

    def get_state(self) -> dict:
        return self.learner.get_state()

    def set_state(self, state: dict) -> None:
        self.learner.set_state(state)

    def apply(self, fn: Callable[[Any], Any]) -> Any:
        return fn(self.learner)


class LearnerGroup:
    """Runs learner updates locally or on learner actors; see the module docstring."""

    def __init__(self, config: Any, learner_class: type, module_spec: MultiRLModuleSpec,
                 module: Any = None) -> None:
        self.config = config
        n = int(config.num_learners)
        self._actors: list[Any] = []
        self._local = None
        if n == 0:
            self._local = learner_class(config, module_spec=module_spec, module=module)
            return
        group = f"rllib-learners-{uuid.uuid4().hex[:12]}"
        cls = ember.remote(num_cpus=config.num_cpus_per_learner,
                           num_gpus=config.num_gpus_per_learner)(_LearnerActor)
        self._actors = [cls.remote(config, learner_class, module_spec, r, n, group)
                        for r in range(n)]
        if n > 1:
            ember.get([a.init_collective.remote() for a in self._actors])
            # Start every copy from rank 0's weights and optimizer state.
            state = ember.get(self._actors[0].get_state.remote())
            ember.get([a.set_state.remote(state) for a in self._actors[1:]])
        else:
            ember.get([a.get_weights.remote([]) for a in self._actors])

    @property
    def is_local(self) -> bool:
        return self._local is not None

    @property
    def num_learners(self) -> int:
        return len(self._actors)

    @property
    def local_learner(self) -> Any:
        return self._local

    def update(self, batches: dict[str, dict[str, np.ndarray]], **kwargs: Any) -> dict:
        """Train on {module_id: batch}; remote learners get equal shards of each batch."""
        if self._local is not None:
            return self._local.update(batches, **kwargs)
        k = len(self._actors)
        shards = _shard(batches, k)
        results = ember.get([a.update.remote(s, **kwargs)
                             for a, s in zip(self._actors, shards, strict=True)])
        return _merge(results)

    def foreach_learner(self, fn: Callable[[Any], Any]) -> list[Any]:
        """fn(learner) on every learner; the results in rank order."""
        if self._local is not None:
            return [fn(self._local)]
        return ember.get([a.apply.remote(fn) for a in self._actors])

    def get_weights(self, module_ids: list[str] | None = None) -> dict[str, Any]:
        if self._local is not None:
            return self._local.get_weights(module_ids)
        return ember.get(self._actors[0].get_weights.remote(module_ids))

    def get_state(self) -> dict[str, Any]:
        if self._local is not None:
            return self._local.get_state()
        return ember.get(self._actors[0].get_state.remote())

    def set_state(self, state: dict[str, Any]) -> None:
        if self._local is not None:
            self._local.set_state(state)
            return
        ember.get([a.set_state.remote(state) for a in self._actors])

    def shutdown(self) -> None:
        for a in self._actors:
            try:
                ember.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors = []


def _shard(batches: dict[str, dict[str, np.ndarray]], k: int) -> list[dict]:
    shards: list[dict] = [{} for _ in range(k)]
    for mid, b in batches.items():
        n = len(next(iter(b.values())))
        size = n // k
        if size == 0:
            raise ValueError(f"A batch of {n} rows for module {mid!r} cannot be split over "
                             f"{k} learners.")
        for i in range(k):
            part = {c: v[i * size:(i + 1) * size] for c, v in b.items()}
            if Columns.SEG_ENDS in part:
                seg = part[Columns.SEG_ENDS].copy()
                seg[-1] = True
                part[Columns.SEG_ENDS] = seg
            shards[i][mid] = part
    return shards


def _merge(results: list[dict]) -> dict:
    out: dict[str, dict[str, Any]] = {}
    for mid in results[0]:
        keys = results[0][mid].keys()
        out[mid] = {}
        for key in keys:
            vals = [r[mid][key] for r in results if key in r.get(mid, {})]
            if key.startswith("_"):  # per-sample arrays (e.g. TD errors), in shard order
                out[mid][key] = np.concatenate(vals)
                continue
            out[mid][key] = float(np.sum(vals)) if key.startswith("num_module_steps") \
                else float(np.mean(vals))
    return out
