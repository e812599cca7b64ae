"""The vLLM engine: vLLM's AsyncLLMEngine in the replica (GPU machines with vLLM).

`engine_kwargs` go to vLLM's AsyncEngineArgs unchanged (max_model_len,
gpu_memory_utilization, tensor_parallel_size, enable_prefix_caching, ...); LoRA
adapters become LoRARequests, so `enable_lora=True` is set when an LLMConfig has a
lora_config. vLLM is imported only here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ember.serve.llm._engine import EngineError, GenerationChunk, LLMEngine, SamplingParams

__all__ = ["VLLMEngine"]


class VLLMEngine(LLMEngine):
    """One vLLM AsyncLLMEngine per replica."""

    def __init__(self, model_id: str, model_source: str, engine_kwargs: dict[str, Any]) -> None:
        try:
            from vllm import AsyncEngineArgs, AsyncLLMEngine
        except ImportError as e:
            raise ImportError("The vLLM engine needs vllm (pip install vllm) and a GPU; "
                              "without them use llm_engine='hf'.") from e
        self.model_id = model_id
        args = AsyncEngineArgs(model=model_source, **engine_kwargs)
        self.engine = AsyncLLMEngine.from_engine_args(args)
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(
            model_source, trust_remote_code=bool(engine_kwargs.get("trust_remote_code")))
        self.max_model_len = int(engine_kwargs.get("max_model_len") or getattr(
            getattr(self.engine, "model_config", None), "max_model_len", 0) or 0)
        self._loras: dict[str, Any] = {}
        self._next_lora_id = 1

    def count_tokens(self, prompt: str | Sequence[int]) -> int:
        if isinstance(prompt, str):
            return len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        return len(prompt)

    def apply_chat_template(self, messages: list[dict[str, Any]],
                            add_generation_prompt: bool = True) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise EngineError(f"Model {self.model_id!r} has no chat template; use "
                              "/v1/completions.")
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    async def stream(self, prompt: str | Sequence[int], params: SamplingParams,
                     adapter: str | None = None) -> AsyncIterator[GenerationChunk]:
        from vllm import SamplingParams as VLLMSamplingParams

        if adapter is not None and adapter not in self._loras:
            raise EngineError(f"The LoRA adapter {adapter!r} is not loaded.")
        n = self.count_tokens(prompt)
        if self.max_model_len and params.max_tokens is not None and \
                n + params.max_tokens > self.max_model_len:
            raise EngineError(
                f"This model's maximum context length is {self.max_model_len} tokens. "
                f"However, you requested {n + params.max_tokens} tokens ({n} in the "
                f"messages, {params.max_tokens} in the completion). Please reduce the length "
                "of the messages or completion.")
        sp = VLLMSamplingParams(max_tokens=params.max_tokens, temperature=params.temperature,
                                top_p=params.top_p, stop=params.stop or None, seed=params.seed,
                                ignore_eos=params.ignore_eos)
        inputs: Any = prompt if isinstance(prompt, str) else {"prompt_token_ids": list(prompt)}
        sent = ""
        try:
            async for out in self.engine.generate(inputs, sp, uuid.uuid4().hex,
                                                  lora_request=self._loras.get(adapter)):
                o = out.outputs[0]
                text = o.text
                delta, sent = text[len(sent):], text
                finish = o.finish_reason if out.finished else None
                if finish not in (None, "stop", "length"):
                    finish = "stop"
                if delta or finish is not None:
                    yield GenerationChunk(delta, len(o.token_ids),
                                          len(out.prompt_token_ids or ()), finish)
        except ValueError as e:  # vLLM's refusals of a request (too long, bad params)
            raise EngineError(str(e)) from None

    async def embed(self, inputs: Sequence[str | Sequence[int]]) -> tuple[list[list[float]], int]:
        from vllm import PoolingParams

        vectors: list[list[float]] = []
        tokens = 0
        for x in inputs:
            item: Any = x if isinstance(x, str) else {"prompt_token_ids": list(x)}
            last = None
            try:
                async for out in self.engine.encode(item, PoolingParams(), uuid.uuid4().hex):
                    last = out
            except (ValueError, NotImplementedError, AttributeError) as e:
                raise EngineError(f"Model {self.model_id!r} does not serve embeddings: {e}") \
                    from None
            assert last is not None
            data = last.outputs.data if hasattr(last.outputs, "data") else last.outputs.embedding
            vectors.append([float(v) for v in data])
            tokens += len(last.prompt_token_ids or ())
        return vectors, tokens

    async def load_lora(self, name: str, path: str) -> None:
        from vllm.lora.request import LoRARequest

        self._loras[name] = LoRARequest(name, self._next_lora_id, path)
        self._next_lora_id += 1

    async def unload_lora(self, name: str) -> None:
        req = self._loras.pop(name, None)
        if req is not None and hasattr(self.engine, "remove_lora"):
            await self.engine.remove_lora(req.lora_int_id)

    def close(self) -> None:
        shutdown = getattr(self.engine, "shutdown", None)
        if shutdown is not None:
            shutdown()
