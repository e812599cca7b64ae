"""OpenAI's chat, completions and embeddings endpoints over an LLMEngine.

Independent of Serve: LLMServer runs one in each replica, and the benchmark calls one
in-process to measure what serving adds. Replies are plain dicts in OpenAI's shape
(cheaper to encode than models, field for field what the API sends); streams are
server-sent events framed as OpenAI frames them, ending with `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
from collections.abc import AsyncIterator, Sequence

from ember.serve.llm._engine import EngineError, GenerationChunk, LLMEngine, SamplingParams
from ember.serve.llm._protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ErrorResponse,
    OpenAIError,
    new_id,
)

__all__ = ["DONE", "OpenAIServing", "sse"]

DONE = "data: [DONE]\n\n"


def sse(obj: dict) -> str:
    """One server-sent event holding `obj` as JSON."""
    return f"data: {json.dumps(obj, separators=(',', ':'), ensure_ascii=False)}\n\n"


class OpenAIServing:
    """Answers OpenAI requests for one model with `engine`."""

    def __init__(self, engine: LLMEngine, model_id: str) -> None:
        self.engine = engine
        self.model_id = model_id

    # -- non-streaming ------------------------------------------------------------------

    async def chat(self, req: ChatCompletionRequest,
                   adapter: str | None = None) -> dict | ErrorResponse:
        try:
            prompt, params = self._chat_inputs(req)
            results = await asyncio.gather(*[
                self.engine.generate(prompt, p, adapter) for p in _per_choice(params, req.n)])
        except (EngineError, OpenAIError) as e:
            return _error(e)
        choices = [{"index": i, "message": {"role": "assistant", "content": r.text},
                    "logprobs": None, "finish_reason": r.finish_reason}
                   for i, r in enumerate(results)]
        return {"id": new_id("chatcmpl"), "object": "chat.completion",
                "created": int(time.time()), "model": req.model, "choices": choices,
                "usage": _usage(results[0].prompt_tokens,
                                sum(r.completion_tokens for r in results))}

    async def completions(self, req: CompletionRequest,
                          adapter: str | None = None) -> dict | ErrorResponse:
        try:
            prompts, params = self._completion_inputs(req)
            jobs = [self.engine.generate(prompt, p, adapter)
                    for prompt in prompts for p in _per_choice(params, req.n)]
            results = await asyncio.gather(*jobs)
        except (EngineError, OpenAIError) as e:
            return _error(e)
        choices = []
        for i, r in enumerate(results):
            prefix = _echo(req, prompts[i // req.n])
            choices.append({"index": i, "text": prefix + r.text, "logprobs": None,
                            "finish_reason": r.finish_reason})
        prompt_tokens = sum(results[i * req.n].prompt_tokens for i in range(len(prompts)))
        return {"id": new_id("cmpl"), "object": "text_completion",
                "created": int(time.time()), "model": req.model, "choices": choices,
                "usage": _usage(prompt_tokens, sum(r.completion_tokens for r in results))}

    async def embeddings(self, req: EmbeddingRequest) -> dict | ErrorResponse:
        try:
            if req.dimensions is not None:
                raise OpenAIError("This model does not support 'dimensions'.", param="dimensions")
            inputs = req.inputs()
            if not inputs:
                raise OpenAIError("'input' must not be empty.", param="input")
            vectors, tokens = await self.engine.embed(inputs)
        except (EngineError, OpenAIError) as e:
            return _error(e)
        data = [{"object": "embedding", "index": i,
                 "embedding": _encode_vector(v, req.encoding_format)}
                for i, v in enumerate(vectors)]
        return {"object": "list", "data": data, "model": req.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    # -- streaming ----------------------------------------------------------------------

    async def chat_stream(self, req: ChatCompletionRequest,
                          adapter: str | None = None) -> AsyncIterator[str | ErrorResponse]:
        """SSE frames; an ErrorResponse instead if the request fails before any output."""
        try:
            prompt, params = self._chat_inputs(req)
            merged = await _start([self.engine.stream(prompt, p, adapter)
                                   for p in _per_choice(params, req.n)])
        except (EngineError, OpenAIError) as e:
            yield _error(e)
            return
        rid, created = new_id("chatcmpl"), int(time.time())
        usage = req.stream_options is not None and req.stream_options.include_usage
        extra = {"usage": None} if usage else {}

        def frame(index: int, delta: dict, finish: str | None) -> str:
            return sse({"id": rid, "object": "chat.completion.chunk", "created": created,
                        "model": req.model, "choices": [{"index": index, "delta": delta,
                                                         "logprobs": None,
                                                         "finish_reason": finish}],
                        **extra})

        for i in range(req.n):
            yield frame(i, {"role": "assistant", "content": ""}, None)
        prompt_tokens = completion = 0
        async for index, chunk in merged:
            if chunk.text:
                yield frame(index, {"content": chunk.text}, None)
            if chunk.finish_reason is not None:
                yield frame(index, {}, chunk.finish_reason)
                prompt_tokens = chunk.prompt_tokens
                completion += chunk.num_tokens
        if usage:
            yield sse({"id": rid, "object": "chat.completion.chunk", "created": created,
                       "model": req.model, "choices": [],
                       "usage": _usage(prompt_tokens, completion)})
        yield DONE

    async def completions_stream(self, req: CompletionRequest, adapter: str | None = None
                                 ) -> AsyncIterator[str | ErrorResponse]:
        """SSE frames; an ErrorResponse instead if the request fails before any output."""
        try:
            prompts, params = self._completion_inputs(req)
            merged = await _start([self.engine.stream(prompt, p, adapter)
                                   for prompt in prompts for p in _per_choice(params, req.n)])
        except (EngineError, OpenAIError) as e:
            yield _error(e)
            return
        rid, created = new_id("cmpl"), int(time.time())
        usage = req.stream_options is not None and req.stream_options.include_usage
        extra = {"usage": None} if usage else {}

        def frame(index: int, text: str, finish: str | None) -> str:
            return sse({"id": rid, "object": "text_completion", "created": created,
                        "model": req.model, "choices": [{"index": index, "text": text,
                                                         "logprobs": None,
                                                         "finish_reason": finish}],
                        **extra})

        started: set[int] = set()
        prompt_tokens = completion = 0
        async for index, chunk in merged:
            text = chunk.text
            if index not in started:
                started.add(index)
                text = _echo(req, prompts[index // req.n]) + text
            if text or chunk.finish_reason is not None:
                yield frame(index, text, chunk.finish_reason)
            if chunk.finish_reason is not None:
                prompt_tokens += chunk.prompt_tokens if index % req.n == 0 else 0
                completion += chunk.num_tokens
        if usage:
            yield sse({"id": rid, "object": "text_completion", "created": created,
                       "model": req.model, "choices": [],
                       "usage": _usage(prompt_tokens, completion)})
        yield DONE

    # -- inputs -------------------------------------------------------------------------

    def _params(self, req: ChatCompletionRequest | CompletionRequest,
                max_tokens: int | None) -> SamplingParams:
        if req.logprobs:
            raise OpenAIError("logprobs are not supported by this server.", param="logprobs")
        return SamplingParams(max_tokens=max_tokens,
                              temperature=1.0 if req.temperature is None else req.temperature,
                              top_p=1.0 if req.top_p is None else req.top_p,
                              stop=req.stop_list(), seed=req.seed,
                              ignore_eos=req.ignore_eos)

    def _chat_inputs(self, req: ChatCompletionRequest) -> tuple[str, SamplingParams]:
        messages = [{"role": m.role, "content": m.text()} for m in req.messages]
        try:
            prompt = self.engine.apply_chat_template(messages, req.add_generation_prompt)
        except EngineError:
            raise
        except Exception as e:  # noqa: BLE001 - a template that rejects the conversation
            raise OpenAIError(f"The chat template failed on these messages: {e}",
                              param="messages") from None
        return prompt, self._params(req, req.max_completion_tokens or req.max_tokens)

    def _completion_inputs(self, req: CompletionRequest
                           ) -> tuple[list[str | list[int]], SamplingParams]:
        prompts = req.prompts()
        if not prompts:
            raise OpenAIError("'prompt' must not be empty.", param="prompt")
        return prompts, self._params(req, req.max_tokens)


def _per_choice(params: SamplingParams, n: int) -> list[SamplingParams]:
    """n copies; with a seed, choice i samples with seed + i (distinct, reproducible)."""
    if n == 1:
        return [params]
    out = []
    for i in range(n):
        p = SamplingParams(**vars(params))
        p.stop = list(params.stop)
        if params.seed is not None:
            p.seed = params.seed + i
        out.append(p)
    return out


async def _start(streams: list[AsyncIterator[GenerationChunk]]
                 ) -> AsyncIterator[tuple[int, GenerationChunk]]:
    """Start every stream and wait for its first chunk (so that a bad request fails here,
    before any frame is sent); returns their chunks merged as (index, chunk)."""
    firsts = []
    try:
        for s in streams:
            firsts.append(await anext(s))
    except BaseException:
        for s in streams:
            await s.aclose()
        raise
    if len(streams) == 1:
        return _single(firsts[0], streams[0])
    return _merge(firsts, streams)


async def _single(first: GenerationChunk, stream: AsyncIterator[GenerationChunk]
                  ) -> AsyncIterator[tuple[int, GenerationChunk]]:
    yield 0, first
    if first.finish_reason is None:
        async for chunk in stream:
            yield 0, chunk


async def _merge(firsts: list[GenerationChunk], streams: list[AsyncIterator[GenerationChunk]]
                 ) -> AsyncIterator[tuple[int, GenerationChunk]]:
    queue: asyncio.Queue = asyncio.Queue()

    async def pump(i: int, first: GenerationChunk, s: AsyncIterator[GenerationChunk]) -> None:
        try:
            queue.put_nowait((i, first))
            if first.finish_reason is None:
                async for chunk in s:
                    queue.put_nowait((i, chunk))
        except BaseException as e:  # noqa: BLE001 - re-raised by the reader
            queue.put_nowait((i, e))
        finally:
            queue.put_nowait((i, None))

    tasks = [asyncio.ensure_future(pump(i, f, s))
             for i, (f, s) in enumerate(zip(firsts, streams, strict=True))]
    try:
        left = len(tasks)
        while left:
            i, item = await queue.get()
            if item is None:
                left -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield i, item
    finally:
        for t in tasks:
            t.cancel()


def _echo(req: CompletionRequest, prompt: str | list[int]) -> str:
    return prompt if req.echo and isinstance(prompt, str) else ""


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _error(e: Exception) -> ErrorResponse:
    if isinstance(e, OpenAIError):
        return e.response
    return OpenAIError(str(e)).response


def _encode_vector(v: Sequence[float], fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode()
    return list(v)
