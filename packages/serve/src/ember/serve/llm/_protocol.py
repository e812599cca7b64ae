"""The OpenAI API's request and response bodies, as pydantic models.

Requests accept the fields OpenAI's API does (unknown ones are ignored, as vLLM's server
ignores them); responses carry exactly the fields the official client reads. The
`openai` package's own types are not reused: its request types are TypedDicts, and
Serve should not need the client installed to answer it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletionRequest", "ChatMessage", "CompletionRequest", "EmbeddingRequest",
    "ErrorInfo", "ErrorResponse", "ModelCard", "ModelList", "OpenAIError", "StreamOptions",
    "Usage",
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None

    def text(self) -> str:
        """The message's text (text parts of a multi-part message joined)."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")


class _Sampling(_Request):
    model: str
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int = Field(default=1, ge=1, le=128)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    logprobs: Any = None
    ignore_eos: bool = False  # vLLM's extension: generate max_tokens whatever comes

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    add_generation_prompt: bool = True

    def prompt_text(self) -> str:
        """The conversation as plain text, for routing on shared prefixes."""
        return "\n".join(f"{m.role}: {m.text()}" for m in self.messages)


class CompletionRequest(_Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=16, ge=1)
    echo: bool = False

    def prompts(self) -> list[str | list[int]]:
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if p and all(isinstance(x, int) for x in p):
            return [list(p)]  # type: ignore[arg-type]
        return list(p)  # type: ignore[arg-type]

    def prompt_text(self) -> str:
        first = self.prompts()[0] if self.prompts() else ""
        return first if isinstance(first, str) else " ".join(map(str, first))


class EmbeddingRequest(_Request):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None

    def inputs(self) -> list[str | list[int]]:
        x = self.input
        if isinstance(x, str):
            return [x]
        if x and all(isinstance(t, int) for t in x):
            return [list(x)]  # type: ignore[arg-type]
        return list(x)  # type: ignore[arg-type]

    def prompt_text(self) -> str:
        first = self.inputs()[0] if self.inputs() else ""
        return first if isinstance(first, str) else " ".join(map(str, first))


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "ember"
    root: str | None = None
    parent: str | None = None
    max_model_len: int | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorInfo(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | int | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error body; `status` is the HTTP status it goes with (not sent)."""

    error: ErrorInfo
    status: int = Field(default=400, exclude=True)


class OpenAIError(Exception):
    """A request that gets an OpenAI-shaped error reply."""

    def __init__(self, message: str, status: int = 400, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.response = ErrorResponse(
            error=ErrorInfo(message=message, type=type, param=param, code=code), status=status)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"
