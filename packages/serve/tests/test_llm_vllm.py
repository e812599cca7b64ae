"""The vLLM engine on a GPU machine with vllm installed (skipped elsewhere): the same
tiny local model, greedy, through the engine interface the replicas use."""

from __future__ import annotations

import asyncio

import pytest

from ember.serve.llm import SamplingParams, make_engine
from ember.serve.llm._engine import vllm_available
from ember.serve.llm._tiny import make_tiny_llama

pytestmark = pytest.mark.skipif(not vllm_available(), reason="needs vllm and a CUDA GPU")


def test_vllm_engine_generates_and_streams_the_same_text(tmp_path):
    model = make_tiny_llama(tmp_path / "tiny", hidden_size=256)  # head_dim 64 for its kernels
    engine = make_engine("tiny", model, {"max_model_len": 256, "gpu_memory_utilization": 0.2,
                                         "enforce_eager": True}, "vllm")
    params = SamplingParams(max_tokens=8, temperature=0)

    async def run() -> tuple[str, str]:
        whole = await engine.generate("hello world", params)
        parts = [c.text async for c in engine.stream("hello world", params)]
        return whole.text, "".join(parts)

    try:
        whole, streamed = asyncio.run(run())
        assert whole == streamed
    finally:
        engine.close()
