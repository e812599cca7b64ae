"""LLM batch inference over Datasets (Ray Data LLM's API).

    from ember.data.llm import build_llm_processor, vLLMEngineProcessorConfig

    config = vLLMEngineProcessorConfig(model_source="/models/tiny", batch_size=16)
    processor = build_llm_processor(
        config,
        preprocess=lambda row: {"messages": [{"role": "user", "content": row["item"]}],
                                "sampling_params": {"temperature": 0, "max_tokens": 32}},
        postprocess=lambda row: {"answer": row["generated_text"]})
    processor(ember.data.from_items(["hello"])).take_all()

The model runs on an actor pool (`concurrency` actors, one engine each): vLLM where vLLM
and a GPU are present, else the CPU engine of ember.serve.llm. HttpRequestProcessorConfig
sends rows to any OpenAI-compatible endpoint instead.
"""

from ember.data.llm._config import (
    HttpRequestProcessorConfig,
    ProcessorConfig,
    vLLMEngineProcessorConfig,
)
from ember.data.llm._processor import Processor, build_llm_processor, build_processor

__all__ = [
    "HttpRequestProcessorConfig",
    "Processor",
    "ProcessorConfig",
    "build_llm_processor",
    "build_processor",
    "vLLMEngineProcessorConfig",
]
