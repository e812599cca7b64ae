"""OpenAiIngress: the OpenAI-compatible HTTP front of an LLM application.

    GET  /v1/models               the models (and LoRA adapters found on disk)
    GET  /v1/models/{id}          one of them, or 404
    POST /v1/chat/completions     chat, `stream: true` as server-sent events
    POST /v1/completions          text completion, likewise
    POST /v1/embeddings           embeddings (float or base64)

Each request goes to the LLMServer deployment of the model it names (`<id>:<adapter>`
for a LoRA adapter, routed by multiplexing). Bad requests get OpenAI's error body with
400, unknown models 404.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response, StreamingResponse

from ember import serve
from ember.serve.llm._config import LLMConfig
from ember.serve.llm._protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ErrorResponse,
    ModelCard,
    ModelList,
    OpenAIError,
)
from ember.serve.llm._server import LLMServer

__all__ = ["OpenAiIngress", "OpenAiLLMServer"]

app = FastAPI(title="ember Serve LLM", docs_url=None, redoc_url=None)


def _json(obj: Any, status: int = 200) -> Response:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json")


def _error(e: OpenAIError | ErrorResponse) -> Response:
    err = e.response if isinstance(e, OpenAIError) else e
    return _json(err, err.status)


async def _parse(request: Request, model: type[BaseModel]) -> Any:
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0] if e.errors() else {}
        loc = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        if first.get("type") == "json_invalid":
            raise OpenAIError("The request body is not valid JSON.") from None
        raise OpenAIError(f"Invalid request: {loc or 'body'}: {first.get('msg', e)}",
                          param=loc or None) from None


@serve.ingress(app)
class OpenAiIngress:
    """Routes OpenAI requests to the LLMServer deployments it was bound with."""

    def __init__(self, llm_deployments: list[Any]) -> None:
        self._handles = list(llm_deployments)
        self._models: dict[str, tuple[LLMConfig, Any]] | None = None

    async def _routes(self) -> dict[str, tuple[LLMConfig, Any]]:
        if self._models is None:
            models = {}
            for h in self._handles:
                config = await h.llm_config.remote()
                models[config.model_id] = (config, h)
            self._models = models
        return self._models

    async def _lookup(self, model: str) -> tuple[LLMConfig, Any]:
        found = (await self._routes()).get(model.partition(":")[0])
        if found is None:
            raise OpenAIError(f"The model `{model}` does not exist.", status=404,
                              type="NotFoundError", param="model", code="model_not_found")
        return found

    async def _handle(self, model: str, method: str, stream: bool = False) -> Any:
        handle = (await self._lookup(model))[1].options(method_name=method, stream=stream)
        if ":" in model:
            handle = handle.options(multiplexed_model_id=model)
        return handle

    async def _call(self, model: str, method: str, request: Any) -> Any:
        """Call `method` of the model's LLMServer (OpenAIError 404 for an unknown model)."""
        return await (await self._handle(model, method)).remote(request)

    async def _open_stream(self, model: str, method: str, request: Any) -> Any:
        """Start the streaming `method` of the model's LLMServer: its frames."""
        return (await self._handle(model, method, stream=True)).remote(request)

    async def _cards(self) -> list[ModelCard]:
        cards = []
        for model_id, (config, _) in (await self._routes()).items():
            max_len = config.engine_kwargs.get("max_model_len")
            cards.append(ModelCard(id=model_id, root=config.model_source,
                                   max_model_len=max_len))
            if config.lora_config is not None:
                for name in config.lora_config.available():
                    cards.append(ModelCard(id=f"{model_id}:{name}", root=name,
                                           parent=model_id, max_model_len=max_len))
        return cards

    @app.get("/v1/models")
    async def models(self) -> Response:
        return _json(ModelList(data=await self._cards()))

    @app.get("/v1/models/{model:path}")
    async def model(self, model: str) -> Response:
        for card in await self._cards():
            if card.id == model:
                return _json(card)
        return _error(OpenAIError(f"The model `{model}` does not exist.", status=404,
                                  type="NotFoundError", param="model", code="model_not_found"))

    @app.post("/v1/chat/completions")
    async def chat(self, request: Request) -> Response:
        return await self._generate(request, ChatCompletionRequest, "chat")

    @app.post("/v1/completions")
    async def completions(self, request: Request) -> Response:
        return await self._generate(request, CompletionRequest, "completions")

    @app.post("/v1/embeddings")
    async def embeddings(self, request: Request) -> Response:
        try:
            req = await _parse(request, EmbeddingRequest)
            result = await self._call(req.model, "embeddings", req)
        except OpenAIError as e:
            return _error(e)
        return _error(result) if isinstance(result, ErrorResponse) else _json(result)

    async def _generate(self, request: Request, model: type[BaseModel], method: str) -> Response:
        try:
            req = await _parse(request, model)
            if not req.stream:
                result = await self._call(req.model, method, req)
            else:
                frames = await self._open_stream(req.model, method + "_stream", req)
        except OpenAIError as e:
            return _error(e)
        if not req.stream:
            return _error(result) if isinstance(result, ErrorResponse) else _json(result)
        first = await anext(frames)
        if isinstance(first, ErrorResponse):
            await _close(frames)
            return _error(first)
        return StreamingResponse(_chain(first, frames), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})


@serve.ingress(app)
class OpenAiLLMServer(OpenAiIngress):
    """One model's OpenAI API and engine in the same replica: what build_openai_app
    deploys for a single model without LoRA adapters. Each request and each streamed
    token then crosses one process boundary (proxy to replica) instead of two."""

    def __init__(self, llm_config: LLMConfig | dict) -> None:
        self.server = LLMServer(llm_config)
        config = self.server.config
        self._handles = []
        self._models = {config.model_id: (config, None)}

    async def _call(self, model: str, method: str, request: Any) -> Any:
        await self._lookup(model)
        return await getattr(self.server, method)(request)

    async def _open_stream(self, model: str, method: str, request: Any) -> Any:
        await self._lookup(model)
        return getattr(self.server, method)(request)

    async def llm_config(self) -> LLMConfig:
        return self.server.config

    async def check_health(self) -> None:
        return None

    def __del__(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.__del__()


async def _close(frames: Any) -> None:
    if hasattr(frames, "cancel"):
        frames.cancel()
    elif hasattr(frames, "aclose"):
        await frames.aclose()


async def _chain(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for frame in rest:
        yield frame
