"""LLM batch inference: build_llm_processor over an actor pool, with the CPU engine on a
tiny local model, and against an OpenAI-compatible HTTP endpoint."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import ember
from ember.data.llm import (
    HttpRequestProcessorConfig,
    build_llm_processor,
    vLLMEngineProcessorConfig,
)

needs_engine = pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None
    or importlib.util.find_spec("ember.serve") is None,
    reason="the CPU engine needs transformers and ember-serve")


@needs_engine
def test_engine_processor_generates_for_every_row(cluster, tmp_path):
    from ember.serve.llm._tiny import make_tiny_llama

    model = make_tiny_llama(tmp_path / "tiny")
    config = vLLMEngineProcessorConfig(model_source=model, batch_size=4, concurrency=1,
                                       max_concurrent_batches=2,
                                       engine_kwargs={"max_model_len": 256})
    processor = build_llm_processor(
        config,
        preprocess=lambda row: {
            "id": row["id"],
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": f"count {row['id'] % 2}"}],
            "sampling_params": {"temperature": 0, "max_tokens": 5}},
        postprocess=lambda row: {"id": row["id"], "answer": row["generated_text"],
                                 "n_in": row["num_input_tokens"],
                                 "n_out": row["num_generated_tokens"]})
    rows = sorted(processor(ember.data.range(10)).take_all(), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == list(range(10))
    assert all(1 <= r["n_out"] <= 5 and r["n_in"] > 0 for r in rows)
    # Same prompt, same greedy answer, whatever batch or position it ran in.
    assert len({r["answer"] for r in rows if r["id"] % 2 == 0}) == 1
    assert len({r["answer"] for r in rows if r["id"] % 2 == 1}) == 1
    assert rows[0]["answer"] != rows[1]["answer"]


class _Endpoint(BaseHTTPRequestHandler):
    """An OpenAI-like chat endpoint that refuses each payload's first try with a 429
    and records how many requests it had in flight at once."""

    lock = threading.Lock()
    seen: set[str] = set()
    inflight = 0
    peak = 0
    calls = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        cls = type(self)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["messages"][-1]["content"]
        with cls.lock:
            cls.calls += 1
            cls.inflight += 1
            cls.peak = max(cls.peak, cls.inflight)
            first = text not in cls.seen
            cls.seen.add(text)
        try:
            if first:
                self._reply(429, {"error": {"message": "slow down", "type": "rate_limit"}})
            else:
                time.sleep(0.05)  # long enough for an unbounded client to pile up requests
                self._reply(200, {"object": "chat.completion", "model": body["model"],
                                  "choices": [{"index": 0, "message": {
                                      "role": "assistant", "content": text.upper()}}]})
        finally:
            with cls.lock:
                cls.inflight -= 1

    def _reply(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    server.shutdown()
    server.server_close()
    thread.join()


def test_http_processor_retries_and_bounds_concurrency(cluster, endpoint):
    config = HttpRequestProcessorConfig(url=endpoint, headers={"Authorization": "Bearer x"},
                                        batch_size=8, concurrency=1, max_retries=2,
                                        base_retry_wait_time_in_s=0.01,
                                        max_concurrent_requests=3)
    processor = build_llm_processor(
        config,
        preprocess=lambda row: {"id": row["id"], "payload": {
            "model": "m", "messages": [{"role": "user", "content": f"row {row['id']}"}]}},
        postprocess=lambda row: {
            "id": row["id"],
            "answer": row["http_response"]["choices"][0]["message"]["content"]})
    rows = sorted(processor(ember.data.range(12)).take_all(), key=lambda r: r["id"])
    assert [r["answer"] for r in rows] == [f"ROW {i}" for i in range(12)]
    assert _Endpoint.calls == 24  # every row refused once, then answered
    assert 1 <= _Endpoint.peak <= 3


def test_http_processor_gives_up_after_max_retries(cluster):
    config = HttpRequestProcessorConfig(url="http://127.0.0.1:9/none", max_retries=1,
                                        base_retry_wait_time_in_s=0.01, batch_size=2)
    processor = build_llm_processor(config, preprocess=lambda row: {"payload": {"x": 1}})
    with pytest.raises(Exception, match="failed after 2 tries"):
        processor(ember.data.range(2)).take_all()


def test_configs_are_checked():
    with pytest.raises(ValueError):
        vLLMEngineProcessorConfig(model_source="m", task_type="classify")
    with pytest.raises(ValueError):
        HttpRequestProcessorConfig(url="http://x", concurrency=0)
    with pytest.raises(TypeError):
        build_llm_processor({"model_source": "m"})


def test_exports_are_sorted_and_present():
    import ember.data.llm as llm

    assert llm.__all__ == sorted(llm.__all__)
    assert all(hasattr(llm, name) for name in llm.__all__)


def test_build_processor_is_rays_newer_name(cluster):
    from ember.data.llm import build_processor

    config = HttpRequestProcessorConfig(url="http://127.0.0.1:9/none", max_retries=0,
                                        base_retry_wait_time_in_s=0.01, batch_size=2)
    processor = build_processor(config, preprocess=lambda row: {"payload": {"x": 1}})
    assert processor.__class__.__name__ == "Processor"
    with pytest.raises(Exception, match="failed after 1 tries"):
        processor(ember.data.range(2)).take_all()
    with pytest.raises(TypeError, match="unexpected arguments"):
        build_processor(config, unknown=1)
