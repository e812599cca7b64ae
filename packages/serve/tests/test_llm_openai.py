"""The OpenAI-compatible LLM app, driven by the official `openai` client.

One application serves two tiny local Llama models (different weights); the first has
a LoRA adapter directory. Everything runs on the CPU engine; temperature 0 makes
outputs deterministic, which the tests use to compare paths.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

import ember
from ember import serve

openai = pytest.importorskip("openai")
if importlib.util.find_spec("transformers") is None:  # not imported here: replicas load it
    pytest.skip("transformers is not installed", allow_module_level=True)

import yaml  # noqa: E402

from ember.serve._cli import _load_config  # noqa: E402
from ember.serve._declarative import build_app, deploy_config  # noqa: E402
from ember.serve.deployment import Application  # noqa: E402
from ember.serve.llm import (  # noqa: E402
    LLMConfig,
    PrefixCacheAffinityRouter,
    build_openai_app,
)
from ember.serve.llm._tiny import make_tiny_llama, make_tiny_lora  # noqa: E402
from ember.serve.schema import ServeApplicationSchema  # noqa: E402

CHAT = [{"role": "user", "content": "hello world"}]


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory, serve_starter) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("llm")
    model_a = make_tiny_llama(root / "tiny-a", seed=0)
    model_b = make_tiny_llama(root / "tiny-b", seed=1)
    make_tiny_lora(root / "loras" / "style", seed=2)
    make_tiny_lora(root / "loras" / "other", seed=3)
    config = root / "llm.yaml"  # deployed as `ember serve run llm.yaml` deploys it
    config.write_text(yaml.safe_dump({"llm_configs": [
        {"model_loading_config": {"model_id": "tiny", "model_source": model_a},
         "lora_config": {"dynamic_lora_loading_path": str(root / "loras"),
                         "max_num_adapters_per_replica": 1}},
        {"model_loading_config": {"model_id": "tiny-b", "model_source": model_b}},
    ]}))
    ember.init(num_cpus=8)
    url = serve_starter()
    try:
        deploy_config(_load_config(str(config)))
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0,
                               timeout=60)
        yield {"client": client, "url": url, "root": root}
    finally:
        serve.shutdown()
        ember.shutdown()


def chat(client, **kw):
    args = {"model": "tiny", "messages": CHAT, "max_tokens": 8, "temperature": 0}
    return client.chat.completions.create(**{**args, **kw})


def test_models_are_listed_with_their_adapters(llm):
    client = llm["client"]
    ids = {m.id for m in client.models.list()}
    assert ids == {"tiny", "tiny-b", "tiny:style", "tiny:other"}
    assert client.models.retrieve("tiny-b").id == "tiny-b"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_chat_completion_counts_usage_and_respects_max_tokens(llm):
    r = chat(llm["client"])
    assert r.object == "chat.completion"
    assert r.model == "tiny"
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in ("length", "stop")
    assert r.usage.completion_tokens <= 8
    assert r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    if choice.finish_reason == "length":
        assert r.usage.completion_tokens == 8


def test_greedy_output_is_deterministic_and_same_when_streamed(llm):
    client = llm["client"]
    text = chat(client).choices[0].message.content
    assert chat(client).choices[0].message.content == text
    stream = chat(client, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text
    finals = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finals[-1] in ("length", "stop") and all(f is None for f in finals[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_sse_framing_is_openai_s(llm):
    import httpx

    body = {"model": "tiny", "prompt": "hello", "max_tokens": 4, "temperature": 0,
            "stream": True}
    r = httpx.post(f"{llm['url']}/v1/completions", json=body, timeout=60)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = r.text.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    assert all(e.startswith("data: {") for e in events[:-2])


def test_concurrent_requests_are_batched_without_changing_outputs(llm):
    from concurrent.futures import ThreadPoolExecutor

    client = llm["client"]
    prompts = ["one two three", "the quick brown", "ember serves", "hello"]
    alone = [client.completions.create(model="tiny", prompt=p, max_tokens=6,
                                       temperature=0).choices[0].text for p in prompts]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda p: client.completions.create(
            model="tiny", prompt=p, max_tokens=6, temperature=0).choices[0].text,
            prompts * 2))
    assert together == alone * 2


def test_stop_sequences_cut_the_text(llm):
    client = llm["client"]
    full = client.completions.create(model="tiny", prompt="hello", max_tokens=12,
                                     temperature=0).choices[0].text
    assert len(full) >= 4
    stop = full[2:4]
    cut = client.completions.create(model="tiny", prompt="hello", max_tokens=12,
                                    temperature=0, stop=[stop])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].text == full[:full.find(stop)]
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="tiny", prompt="hello", max_tokens=12, temperature=0, stop=[stop], stream=True))
    assert streamed == cut.choices[0].text


def test_n_choices_and_seeded_sampling(llm):
    client = llm["client"]
    r = chat(client, n=3, temperature=1.0, seed=7)
    assert [c.index for c in r.choices] == [0, 1, 2]
    again = chat(client, n=3, temperature=1.0, seed=7)
    assert [c.message.content for c in again.choices] == [c.message.content for c in r.choices]
    assert len({c.message.content for c in r.choices}) > 1
    texts = ["", "", ""]
    for chunk in chat(client, n=3, temperature=1.0, seed=7, stream=True):
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
    assert texts == [c.message.content for c in r.choices]
    batch = client.completions.create(model="tiny", prompt=["hello", "one two"], n=2,
                                      max_tokens=4, temperature=0)
    assert [c.index for c in batch.choices] == [0, 1, 2, 3]
    assert batch.choices[0].text == batch.choices[1].text != batch.choices[2].text


def test_two_models_are_routed_by_the_model_field(llm):
    client = llm["client"]
    a = client.completions.create(model="tiny", prompt="hello", max_tokens=8, temperature=0)
    b = client.completions.create(model="tiny-b", prompt="hello", max_tokens=8, temperature=0)
    assert a.model == "tiny" and b.model == "tiny-b"
    assert a.choices[0].text != b.choices[0].text


def test_embeddings_float_and_base64(llm):
    client = llm["client"]
    r = client.embeddings.create(model="tiny", input=["hello world", "one two"])
    assert [d.index for d in r.data] == [0, 1]
    assert len(r.data[0].embedding) == 64
    assert abs(sum(x * x for x in r.data[0].embedding) - 1.0) < 1e-4
    assert r.usage.prompt_tokens > 0
    f = client.embeddings.create(model="tiny", input="hello world", encoding_format="float")
    assert f.data[0].embedding == pytest.approx(r.data[0].embedding, abs=1e-6)


def test_errors_are_openai_shaped(llm):
    client = llm["client"]
    with pytest.raises(openai.NotFoundError) as e:
        chat(client, model="missing")
    assert e.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        chat(client, temperature=5)
    with pytest.raises(openai.BadRequestError) as e:
        chat(client, max_tokens=100_000)
    assert "maximum context length" in e.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        chat(client, max_tokens=100_000, stream=True)
    with pytest.raises(openai.NotFoundError):
        chat(client, model="tiny:absent")
    import httpx

    r = httpx.post(f"{llm['url']}/v1/completions", content=b"{not json", timeout=30)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_lora_adapters_load_on_demand_and_change_outputs(llm):
    client = llm["client"]
    base = chat(client).choices[0].message.content
    style = chat(client, model="tiny:style")
    assert style.model == "tiny:style"
    assert style.choices[0].message.content != base
    assert chat(client, model="tiny:style").choices[0].message.content == \
        style.choices[0].message.content
    other = chat(client, model="tiny:other").choices[0].message.content  # evicts "style"
    assert other != style.choices[0].message.content
    again = chat(client, model="tiny:style").choices[0].message.content  # reloaded
    assert again == style.choices[0].message.content
    assert chat(client).choices[0].message.content == base


def test_ray_style_config_files_build_the_app(tmp_path):
    ray_style = {"applications": [{
        "name": "llm_app", "route_prefix": "/", "import_path": "ray.serve.llm:build_openai_app",
        "args": {"llm_configs": [str(tmp_path / "model.yaml")]}}]}
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(
        {"model_loading_config": {"model_id": "m", "model_source": "/nowhere"},
         "deployment_config": {"autoscaling_config": {"min_replicas": 1, "max_replicas": 3}}}))
    (tmp_path / "serve.yaml").write_text(yaml.safe_dump(ray_style))
    schema = ServeApplicationSchema.model_validate(
        _load_config(str(tmp_path / "serve.yaml"))["applications"][0])
    app = build_app(schema)  # one model: one deployment answering HTTP itself
    assert isinstance(app, Application) and app.deployment.name == "LLMServer_m"
    assert app.deployment.autoscaling_config["max_replicas"] == 3
    # One LLMConfig alone at the top of the file is an app too.
    (tmp_path / "one.yaml").write_text((tmp_path / "model.yaml").read_text())
    loaded = _load_config(str(tmp_path / "one.yaml"))["applications"][0]
    assert loaded["import_path"] == "ember.serve.llm:build_openai_app"
    routed = build_openai_app({"single_deployment": False, "llm_configs": [LLMConfig(
        model_loading_config={"model_id": "r"}, deployment_config={
            "num_replicas": 4,
            "request_router_config": {"request_router_class": PrefixCacheAffinityRouter}})]})
    assert routed.deployment.name == "OpenAiIngress"
    llm = routed._args[0][0]
    assert llm.deployment.name == "LLMServer_r" and llm.deployment.num_replicas == 4
    assert llm.deployment._config()["request_router_config"]["request_router_class"] == \
        "ember.serve.llm.request_router:PrefixCacheAffinityRouter"
    with pytest.raises(ValueError):
        build_openai_app({"llm_configs": [LLMConfig(
            model_loading_config={"model_id": "x"}, deployment_config={"bogus": 1})]})


def test_a_single_model_app_is_one_deployment_with_the_same_outputs(llm):
    """One model without LoRA: the replicas answer HTTP themselves (no ingress hop),
    routed by the prefix-aware router at the proxy; same greedy text as the two-tier app."""
    app = build_openai_app({"llm_configs": [LLMConfig(
        model_loading_config={"model_id": "tiny-b",
                              "model_source": str(llm["root"] / "tiny-b")},
        deployment_config={"request_router_config": {
            "request_router_class": PrefixCacheAffinityRouter}})]})
    serve.run(app, name="solo", route_prefix="/solo")
    try:
        assert list(serve.status().applications["solo"].deployments) == ["LLMServer_tiny-b"]
        solo = openai.OpenAI(base_url=f"{llm['url']}/solo/v1", api_key="none",
                             max_retries=0, timeout=60)
        assert [m.id for m in solo.models.list()] == ["tiny-b"]
        want = chat(llm["client"], model="tiny-b").choices[0].message.content
        assert chat(solo, model="tiny-b").choices[0].message.content == want
        streamed = "".join(c.choices[0].delta.content or ""
                           for c in chat(solo, model="tiny-b", stream=True))
        assert streamed == want
        with pytest.raises(openai.NotFoundError):
            chat(solo, model="tiny")
    finally:
        serve.delete("solo")
