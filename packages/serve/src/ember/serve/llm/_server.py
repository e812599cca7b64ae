"""LLMServer: the deployment that runs one model's engine in each replica.

OpenAiIngress calls its methods through a DeploymentHandle: `chat`, `completions` and
`embeddings` return a reply dict (or an ErrorResponse), `chat_stream` and
`completions_stream` are generators of server-sent events. A request for
`<model_id>:<adapter>` is routed by multiplexing to a replica that holds the LoRA
adapter; a replica loads it on demand and keeps up to `max_num_adapters_per_replica`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ember import serve
from ember.serve.llm._config import LLMConfig
from ember.serve.llm._engine import make_engine, vllm_available
from ember.serve.llm._openai import OpenAIServing
from ember.serve.llm._protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ErrorResponse,
    OpenAIError,
)

__all__ = ["LLMServer"]


class _Adapter:
    """A loaded LoRA adapter; dropping it from the multiplex cache unloads it."""

    def __init__(self, server: LLMServer, name: str) -> None:
        self.server = server
        self.name = name

    def __del__(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.create_task(self.server.engine.unload_lora(self.name))


class LLMServer:
    """One model's replica (wrap with `serve.deployment` or use build_llm_deployment)."""

    def __init__(self, llm_config: LLMConfig | dict) -> None:
        config = LLMConfig.model_validate(llm_config)
        self.config = config
        kwargs = dict(config.engine_kwargs)
        if config.lora_config is not None and (config.llm_engine == "vllm" or (
                config.llm_engine == "auto" and vllm_available())):
            kwargs.setdefault("enable_lora", True)
            kwargs.setdefault("max_loras", config.lora_config.max_num_adapters_per_replica)
        self.engine = make_engine(config.model_id, config.model_source, kwargs,
                                  config.llm_engine)
        self.serving = OpenAIServing(self.engine, config.model_id)
        lora = config.lora_config
        self._get_adapter: Any = None
        if lora is not None:
            async def load(model_id: str) -> _Adapter:
                name = model_id.partition(":")[2]
                await asyncio.wait_for(self.engine.load_lora(name, lora.adapter_dir(name)),
                                       lora.download_timeout_s)
                return _Adapter(self, name)

            self._get_adapter = serve.multiplexed(
                max_num_models_per_replica=lora.max_num_adapters_per_replica)(load)

    async def _adapter(self, model: str) -> str | None:
        base, sep, name = model.partition(":")
        if not sep:
            return None
        if self._get_adapter is None or not name:
            raise OpenAIError(f"The model `{model}` does not exist.", status=404,
                              type="NotFoundError", param="model", code="model_not_found")
        try:
            return (await self._get_adapter(model)).name
        except Exception as e:  # noqa: BLE001 - a missing or broken adapter is the client's
            raise OpenAIError(f"The model `{model}` does not exist or could not be loaded: "
                              f"{e}", status=404, type="NotFoundError", param="model",
                              code="model_not_found") from None

    # -- requests -------------------------------------------------------------------------

    async def chat(self, request: ChatCompletionRequest) -> dict | ErrorResponse:
        return await self._unary(self.serving.chat, request)

    async def chat_stream(self, request: ChatCompletionRequest
                          ) -> AsyncIterator[str | ErrorResponse]:
        async for frames in self._stream(self.serving.chat_stream, request):
            yield frames

    async def completions(self, request: CompletionRequest) -> dict | ErrorResponse:
        return await self._unary(self.serving.completions, request)

    async def completions_stream(self, request: CompletionRequest
                                 ) -> AsyncIterator[str | ErrorResponse]:
        async for frames in self._stream(self.serving.completions_stream, request):
            yield frames

    async def _unary(self, call: Any, request: Any) -> dict | ErrorResponse:
        """`call(request, adapter)` once the request's model (or adapter) is resolved."""
        try:
            adapter = await self._adapter(request.model)
        except OpenAIError as e:
            return e.response
        return await call(request, adapter)

    async def _stream(self, call: Any, request: Any) -> AsyncIterator[str | ErrorResponse]:
        """The frames of `call(request, adapter)`, those ready together as one item."""
        try:
            adapter = await self._adapter(request.model)
        except OpenAIError as e:
            yield e.response
            return
        async for frames in _coalesce(call(request, adapter)):
            yield frames

    async def embeddings(self, request: EmbeddingRequest) -> dict | ErrorResponse:
        if ":" in request.model:
            return OpenAIError("Embeddings are not served for LoRA adapters.",
                               param="model").response
        return await self.serving.embeddings(request)

    async def llm_config(self) -> LLMConfig:
        return self.config

    async def check_health(self) -> None:
        return None

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()


async def _coalesce(frames: AsyncIterator[str | ErrorResponse]
                    ) -> AsyncIterator[str | ErrorResponse]:
    """The frames of `frames`, those ready together joined into one item: when the caller
    reads slower than tokens come (many streams, a busy CPU), each hop to the ingress and
    the proxy carries several frames instead of one."""
    first = await anext(frames, None)
    if first is None:
        return
    yield first
    if isinstance(first, ErrorResponse):
        return
    queue: asyncio.Queue = asyncio.Queue()
    end = object()

    async def pump() -> None:
        try:
            async for f in frames:
                queue.put_nowait(f)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            queue.put_nowait(e)
        finally:
            queue.put_nowait(end)

    task = asyncio.ensure_future(pump())
    try:
        while True:
            parts = [await queue.get()]
            while not queue.empty():
                parts.append(queue.get_nowait())
            done = parts[-1] is end
            if done:
                parts.pop()
            for p in parts:
                if isinstance(p, BaseException):
                    raise p
            if parts:
                yield "".join(parts)
            if done:
                return
    finally:
        task.cancel()
