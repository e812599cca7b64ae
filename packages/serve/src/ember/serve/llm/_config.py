"""LLMConfig and LLMServingArgs: what `build_openai_app` is given (Ray Serve LLM's names).

    LLMConfig(
        model_loading_config={"model_id": "qwen", "model_source": "/models/qwen"},
        deployment_config={"autoscaling_config": {"min_replicas": 1, "max_replicas": 4}},
        engine_kwargs={"max_model_len": 4096},
        lora_config={"dynamic_lora_loading_path": "/models/loras"},
    )
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["LLMConfig", "LLMServingArgs", "LoraConfig", "ModelLoadingConfig"]


class ModelLoadingConfig(BaseModel):
    """Which model: the id clients name, and where its weights are (a local directory,
    or for vLLM anything it can load; defaults to the id)."""

    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1)
    model_source: str | None = None

    @field_validator("model_id")
    @classmethod
    def _no_colon(cls, v: str) -> str:
        if ":" in v:
            raise ValueError("model_id must not contain ':' (it separates LoRA adapters).")
        return v


class LoraConfig(BaseModel):
    """LoRA adapters served by multiplexing: `<model_id>:<name>` loads the adapter in
    `<dynamic_lora_loading_path>/<name>` on the replica that serves it, on demand."""

    model_config = ConfigDict(extra="forbid")

    dynamic_lora_loading_path: str | None = None
    max_num_adapters_per_replica: int = Field(default=16, ge=1)
    download_timeout_s: float = 30.0
    max_download_tries: int = 3

    def adapter_dir(self, name: str) -> str:
        if not self.dynamic_lora_loading_path:
            raise ValueError("lora_config.dynamic_lora_loading_path is not set.")
        base = self.dynamic_lora_loading_path.removeprefix("file://")
        return os.path.join(base, name)

    def available(self) -> list[str]:
        """Adapter names found under the loading path (local directories only)."""
        if not self.dynamic_lora_loading_path:
            return []
        base = self.dynamic_lora_loading_path.removeprefix("file://")
        try:
            return sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)))
        except OSError:
            return []


class LLMConfig(BaseModel):
    """One model served by LLMServer replicas.

    `deployment_config` takes `@serve.deployment` options (num_replicas,
    autoscaling_config, max_ongoing_requests, ray_actor_options, request_router_config,
    ...). `llm_engine` is "auto" (vLLM with a GPU, else the CPU engine), "vLLM" or "hf".
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_loading_config: ModelLoadingConfig
    deployment_config: dict[str, Any] = Field(default_factory=dict)
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    llm_engine: str = "auto"
    accelerator_type: str | None = None
    lora_config: LoraConfig | None = None
    runtime_env: dict[str, Any] | None = None
    experimental_configs: dict[str, Any] = Field(default_factory=dict)
    log_engine_metrics: bool = False

    @field_validator("llm_engine")
    @classmethod
    def _engine(cls, v: str) -> str:
        norm = v.lower()
        if norm not in ("auto", "vllm", "hf"):
            raise ValueError(f"llm_engine must be 'auto', 'vLLM' or 'hf', got {v!r}.")
        return norm

    @model_validator(mode="after")
    def _deployment_options(self) -> LLMConfig:
        from ember.serve.deployment import DEFAULTS

        allowed = set(DEFAULTS) | {"name", "request_router_config"}
        unknown = set(self.deployment_config) - allowed
        if unknown:
            raise ValueError(f"deployment_config has unknown options {sorted(unknown)}.")
        return self

    @property
    def model_id(self) -> str:
        return self.model_loading_config.model_id

    @property
    def model_source(self) -> str:
        return self.model_loading_config.model_source or self.model_id

    @classmethod
    def from_file(cls, path: str) -> LLMConfig:
        """An LLMConfig from a YAML (or JSON) file."""
        import yaml

        with open(path) as f:
            return cls.model_validate(yaml.safe_load(f))


class LLMServingArgs(BaseModel):
    """The argument of `build_openai_app`: the models (LLMConfigs, dicts or paths of
    YAML files holding one) and options for the OpenAiIngress deployment."""

    model_config = ConfigDict(extra="forbid")

    llm_configs: list[LLMConfig] = Field(min_length=1)
    ingress_deployment_config: dict[str, Any] = Field(default_factory=dict)
    # None: one model without LoRA is served by a single deployment (no ingress hop).
    single_deployment: bool | None = None

    @field_validator("llm_configs", mode="before")
    @classmethod
    def _load(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        return [LLMConfig.from_file(c) if isinstance(c, str) else c for c in v]

    @model_validator(mode="after")
    def _unique(self) -> LLMServingArgs:
        ids = [c.model_id for c in self.llm_configs]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"Model ids must be unique; repeated: {dup}.")
        return self
