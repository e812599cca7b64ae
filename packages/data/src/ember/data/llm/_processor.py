"""build_llm_processor: preprocess, an LLM stage on an actor pool, postprocess."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.data.compute import ActorPoolStrategy
from ember.data.dataset import Dataset
from ember.data.llm._config import (
    HttpRequestProcessorConfig,
    ProcessorConfig,
    vLLMEngineProcessorConfig,
)
from ember.data.llm._stages import EngineStage, HttpRequestStage

__all__ = ["Processor", "build_llm_processor", "build_processor"]


class Processor:
    """Applies its stages to a Dataset, lazily: `processor(ds)` is a new Dataset."""

    def __init__(self, config: ProcessorConfig, preprocess: Callable[[dict], dict] | None,
                 postprocess: Callable[[dict], dict] | None) -> None:
        self.config = config
        self.preprocess = preprocess
        self.postprocess = postprocess

    def __call__(self, dataset: Dataset) -> Dataset:
        cfg = self.config
        ds = dataset.map(self.preprocess) if self.preprocess is not None else dataset
        per_actor = 1
        if isinstance(cfg, vLLMEngineProcessorConfig):
            stage: type = EngineStage
            options: dict[str, Any] = {"num_gpus": 1} if cfg.accelerator_type else {}
            per_actor = cfg.max_concurrent_batches  # queued at each actor, run in turn
        else:
            stage, options = HttpRequestStage, {"num_cpus": 0}
        if cfg.accelerator_type:
            options["accelerator_type"] = cfg.accelerator_type
        if cfg.runtime_env:
            options["runtime_env"] = cfg.runtime_env
        kwargs = cfg.model_dump(exclude={"accelerator_type", "runtime_env", "concurrency",
                                         "batch_size"})
        low, high = (cfg.concurrency if isinstance(cfg.concurrency, tuple)
                     else (cfg.concurrency, cfg.concurrency))
        pool = ActorPoolStrategy(min_size=low, max_size=high,
                                 max_tasks_in_flight_per_actor=max(2, per_actor))
        ds = ds.map_batches(stage, batch_size=cfg.batch_size, batch_format="pyarrow",
                            compute=pool, fn_constructor_kwargs={"config": kwargs},
                            **options)
        return ds.map(self.postprocess) if self.postprocess is not None else ds


def build_llm_processor(config: ProcessorConfig, preprocess: Callable[[dict], dict] | None = None,
                        postprocess: Callable[[dict], dict] | None = None,
                        **kwargs: Any) -> Processor:
    """A Processor for `config` (vLLMEngineProcessorConfig or HttpRequestProcessorConfig):
    `preprocess` makes each row's input (`messages`/`prompt` and `sampling_params`, or
    `payload`), `postprocess` shapes each output row."""
    if kwargs:
        raise TypeError(f"build_llm_processor() got unexpected arguments {sorted(kwargs)}.")
    if not isinstance(config, vLLMEngineProcessorConfig | HttpRequestProcessorConfig):
        raise TypeError("config must be a vLLMEngineProcessorConfig or an "
                        f"HttpRequestProcessorConfig, got {type(config).__name__}.")
    return Processor(config, preprocess, postprocess)


def build_processor(config: ProcessorConfig, preprocess: Callable[[dict], dict] | None = None,
                    postprocess: Callable[[dict], dict] | None = None,
                    **kwargs: Any) -> Processor:
    """Ray's newer name for `build_llm_processor` (same arguments)."""
    return build_llm_processor(config, preprocess, postprocess, **kwargs)
