"""The CPU engine's continuous batching: sequences that join and leave a running batch
(its KV cache stacked and sliced) get exactly the greedy text they get alone."""

from __future__ import annotations

import asyncio
import importlib.util
import random

import pytest

if importlib.util.find_spec("transformers") is None:
    pytest.skip("transformers is not installed", allow_module_level=True)

from ember.serve.llm import SamplingParams  # noqa: E402
from ember.serve.llm._tiny import make_tiny_llama  # noqa: E402


def test_joining_and_leaving_a_batch_does_not_change_outputs(tmp_path):
    from ember.serve.llm._hf_engine import HFEngine

    model = make_tiny_llama(tmp_path / "tiny")
    batched = HFEngine("tiny", model, {})
    alone = HFEngine("tiny", model, {"kv_cache": False})
    rng = random.Random(0)
    words = "the quick brown fox jumps over a lazy dog ember serves models".split()
    jobs = [(" ".join(rng.choices(words, k=rng.randint(1, 10))), rng.randint(1, 12))
            for _ in range(24)]

    def params(n: int) -> SamplingParams:
        return SamplingParams(max_tokens=n, temperature=0, ignore_eos=True)

    async def run() -> tuple[list[str], list[str]]:
        want = [(await alone.generate(p, params(n))).text for p, n in jobs]
        got: dict[int, str] = {}

        async def one(i: int) -> None:
            got[i] = (await batched.generate(jobs[i][0], params(jobs[i][1]))).text

        tasks = []
        pacer = batched.stream("hello world", params(200))
        for wave in range(6):  # each wave joins while earlier ones are mid-generation
            tasks += [asyncio.ensure_future(one(i)) for i in range(wave * 4, wave * 4 + 4)]
            await anext(pacer)
        await pacer.aclose()
        await asyncio.gather(*tasks)
        return want, [got[i] for i in range(len(jobs))]

    try:
        want, got = asyncio.run(run())
    finally:
        batched.close()
        alone.close()
    assert got == want
