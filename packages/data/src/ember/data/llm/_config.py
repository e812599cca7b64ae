"""Processor configs for LLM batch inference (Ray Data LLM's names and defaults)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["HttpRequestProcessorConfig", "ProcessorConfig", "vLLMEngineProcessorConfig"]


class ProcessorConfig(BaseModel):
    """What every processor takes: rows per batch and how many actors run batches."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    batch_size: int = Field(default=64, ge=1)
    concurrency: int | tuple[int, int] = 1
    accelerator_type: str | None = None
    runtime_env: dict[str, Any] | None = None

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, v: int | tuple[int, int]) -> int | tuple[int, int]:
        low = v[0] if isinstance(v, tuple) else v
        if low < 1 or (isinstance(v, tuple) and v[1] < v[0]):
            raise ValueError(f"concurrency must be >= 1 or a (min, max) range, got {v!r}.")
        return v


class vLLMEngineProcessorConfig(ProcessorConfig):  # noqa: N801 - Ray's name
    """Run a model in each actor of the pool: vLLM's engine where vLLM and a GPU are
    present, else the CPU engine of ember.serve.llm (transformers, continuous batching).

    Rows carry `messages` (chat, through the model's chat template when
    `apply_chat_template`) or `prompt`, and optionally `sampling_params`
    (temperature, max_tokens, top_p, stop, seed, ignore_eos). `task_type="embed"`
    returns `embeddings` instead of generated text. `max_concurrent_batches` batches are
    queued at each actor so that the next is there when one ends; an actor runs them in
    turn (ember.data calls an actor once at a time), each batch's rows together in the
    engine's continuous batching.
    """

    model_source: str
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    task_type: str = "generate"
    apply_chat_template: bool = True
    tokenize: bool = True
    detokenize: bool = True
    has_image: bool = False
    max_concurrent_batches: int = Field(default=1, ge=1)
    llm_engine: str = "auto"

    @field_validator("task_type")
    @classmethod
    def _task(cls, v: str) -> str:
        if v not in ("generate", "embed"):
            raise ValueError(f"task_type must be 'generate' or 'embed', got {v!r}.")
        return v

    @field_validator("has_image")
    @classmethod
    def _no_images(cls, v: bool) -> bool:
        if v:
            raise ValueError("has_image=True (vision models) is not supported yet.")
        return v


class HttpRequestProcessorConfig(ProcessorConfig):
    """Send each row's `payload` as a JSON POST to `url` (any OpenAI-compatible
    endpoint), at most `max_concurrent_requests` at once per actor and `qps` per second
    (None: unlimited), retrying 429s, 5xx and connection errors up to `max_retries`
    times with exponential backoff from `base_retry_wait_time_in_s`."""

    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    qps: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=3, ge=0)
    base_retry_wait_time_in_s: float = Field(default=1.0, ge=0)
    max_concurrent_requests: int = Field(default=16, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
