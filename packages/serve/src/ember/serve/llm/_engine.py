"""The engine interface every LLM replica drives: generate, stream, embed.

Two engines implement it: `HFEngine` (Hugging Face transformers on CPU, continuous
batching; always available) and `VLLMEngine` (vLLM's async engine, when vLLM and a GPU
are there). `make_engine` picks one from an LLMConfig.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EngineError", "GenerationChunk", "GenerationResult", "LLMEngine",
           "SamplingParams", "make_engine", "vllm_available"]


class EngineError(ValueError):
    """A request the engine cannot run (too long a prompt, a bad parameter): a 400."""


@dataclass
class SamplingParams:
    """How to pick tokens; OpenAI's parameters, with their defaults."""

    max_tokens: int | None = 16
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    ignore_eos: bool = False


@dataclass
class GenerationChunk:
    """A piece of one generation: the text added since the previous chunk."""

    text: str
    num_tokens: int  # tokens generated so far
    prompt_tokens: int
    finish_reason: str | None = None  # "stop" or "length" on the last chunk


@dataclass
class GenerationResult:
    """A whole generation."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


class LLMEngine(abc.ABC):
    """One model (and its LoRA adapters) in one replica."""

    model_id: str
    max_model_len: int

    @abc.abstractmethod
    def stream(self, prompt: str | Sequence[int], params: SamplingParams,
               adapter: str | None = None) -> AsyncIterator[GenerationChunk]:
        """Generate, yielding text as it comes; the last chunk has a finish_reason."""

    async def generate(self, prompt: str | Sequence[int], params: SamplingParams,
                       adapter: str | None = None) -> GenerationResult:
        """Generate the whole completion (the stream's chunks joined)."""
        parts: list[str] = []
        last: GenerationChunk | None = None
        async for chunk in self.stream(prompt, params, adapter):
            parts.append(chunk.text)
            last = chunk
        assert last is not None
        return GenerationResult("".join(parts), last.prompt_tokens, last.num_tokens,
                                last.finish_reason or "stop")

    @abc.abstractmethod
    async def embed(self, inputs: Sequence[str | Sequence[int]]) -> tuple[list[list[float]], int]:
        """One embedding per input, and the number of tokens read."""

    @abc.abstractmethod
    def apply_chat_template(self, messages: list[dict[str, Any]],
                            add_generation_prompt: bool = True) -> str:
        """The prompt the model's chat template makes of `messages`."""

    @abc.abstractmethod
    def count_tokens(self, prompt: str | Sequence[int]) -> int:
        """How many tokens `prompt` is."""

    @abc.abstractmethod
    async def load_lora(self, name: str, path: str) -> None:
        """Make the adapter at `path` usable as `adapter=name`."""

    @abc.abstractmethod
    async def unload_lora(self, name: str) -> None:
        """Forget an adapter."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the engine's background work."""


def vllm_available() -> bool:
    """vLLM is importable and a CUDA GPU is visible."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def make_engine(model_id: str, model_source: str, engine_kwargs: dict[str, Any],
                engine: str = "auto") -> LLMEngine:
    """The engine for a model: vLLM when asked for or available, else the CPU engine."""
    if engine not in ("auto", "vllm", "hf"):
        raise ValueError(f"engine must be 'auto', 'vllm' or 'hf', got {engine!r}.")
    if engine == "vllm" or (engine == "auto" and vllm_available()):
        from ember.serve.llm._vllm_engine import VLLMEngine

        return VLLMEngine(model_id, model_source, engine_kwargs)
    from ember.serve.llm._hf_engine import HFEngine

    return HFEngine(model_id, model_source, engine_kwargs)
