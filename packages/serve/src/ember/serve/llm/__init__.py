"""LLM serving with an OpenAI-compatible API (Ray Serve LLM's API).

    from ember import serve
    from ember.serve.llm import LLMConfig, build_openai_app

    config = LLMConfig(model_loading_config={"model_id": "tiny", "model_source": "/models/tiny"},
                       deployment_config={"autoscaling_config": {"min_replicas": 1,
                                                                 "max_replicas": 4}})
    serve.run(build_openai_app({"llm_configs": [config]}))
    # then any OpenAI client: base_url="http://127.0.0.1:8000/v1"

Each model runs in LLMServer replicas, on vLLM's engine where vLLM and a GPU are present
and otherwise on a CPU engine over Hugging Face transformers with continuous batching.
OpenAiIngress answers /v1/models, /v1/chat/completions, /v1/completions and
/v1/embeddings. PrefixCacheAffinityRouter sends prompts that share a prefix to the same
replica.
"""

from ember.serve.llm._builders import build_llm_deployment, build_openai_app
from ember.serve.llm._config import LLMConfig, LLMServingArgs, LoraConfig, ModelLoadingConfig
from ember.serve.llm._engine import (
    EngineError,
    GenerationResult,
    LLMEngine,
    SamplingParams,
    make_engine,
)
from ember.serve.llm._ingress import OpenAiIngress
from ember.serve.llm._server import LLMServer
from ember.serve.llm.request_router import PrefixCacheAffinityRouter

__all__ = [
    "EngineError",
    "GenerationResult",
    "LLMConfig",
    "LLMEngine",
    "LLMServer",
    "LLMServingArgs",
    "LoraConfig",
    "ModelLoadingConfig",
    "OpenAiIngress",
    "PrefixCacheAffinityRouter",
    "SamplingParams",
    "build_llm_deployment",
    "build_openai_app",
    "make_engine",
]
