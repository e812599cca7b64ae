"""build_llm_deployment and build_openai_app: LLMConfigs into Serve applications."""

from __future__ import annotations

from typing import Any

from ember import serve
from ember.serve.deployment import Application
from ember.serve.llm._config import LLMConfig, LLMServingArgs
from ember.serve.llm._ingress import OpenAiIngress, OpenAiLLMServer
from ember.serve.llm._server import LLMServer

__all__ = ["build_llm_deployment", "build_openai_app"]

# Many requests share a replica's engine (continuous batching): allow many at once.
_LLM_DEFAULTS: dict[str, Any] = {"max_ongoing_requests": 64}
_INGRESS_DEFAULTS: dict[str, Any] = {"max_ongoing_requests": 1000,
                                     "ray_actor_options": {"num_cpus": 0}}


def _deployment_name(model_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in model_id)
    return f"LLMServer_{safe}"


def build_llm_deployment(llm_config: LLMConfig | dict, *, name_prefix: str | None = None,
                         override_serve_options: dict | None = None,
                         _cls: type = LLMServer) -> Application:
    """An LLMServer deployment for one model, bound to its config (deploy it alone and
    call it with a handle, or pass it to OpenAiIngress)."""
    config = LLMConfig.model_validate(llm_config)
    options = {**_LLM_DEFAULTS, **config.deployment_config, **(override_serve_options or {})}
    name = options.pop("name", None) or _deployment_name(config.model_id)
    if name_prefix:
        name = f"{name_prefix}{name}"
    actor = dict(options.get("ray_actor_options") or {})
    if config.runtime_env:
        actor["runtime_env"] = {**config.runtime_env, **(actor.get("runtime_env") or {})}
    if config.accelerator_type:
        actor.setdefault("accelerator_type", config.accelerator_type)
        actor.setdefault("num_gpus", 1)
    if actor:
        options["ray_actor_options"] = actor
    if options.get("autoscaling_config"):
        options.pop("num_replicas", None)
    return serve.deployment(_cls, name=name).options(**options).bind(config)


def build_openai_app(llm_serving_args: LLMServingArgs | dict) -> Application:
    """An OpenAI-compatible application serving every model of `llm_serving_args`
    (`{"llm_configs": [...]}`): an OpenAiIngress deployment in front of one LLMServer
    deployment per model. A single model without LoRA adapters is served by one
    deployment that answers HTTP itself (OpenAiLLMServer), unless `single_deployment`
    is False."""
    args = LLMServingArgs.model_validate(llm_serving_args)
    if args.single_deployment is not False and len(args.llm_configs) == 1 and \
            args.llm_configs[0].lora_config is None:
        # One model: its replicas answer HTTP themselves (OpenAiLLMServer), one hop less.
        return build_llm_deployment(args.llm_configs[0], _cls=OpenAiLLMServer)
    deployments = [build_llm_deployment(c) for c in args.llm_configs]
    options = {**_INGRESS_DEFAULTS, **args.ingress_deployment_config}
    return serve.deployment(OpenAiIngress, name="OpenAiIngress").options(
        **options).bind(deployments)


def serve_config_from_llm_file(data: dict[str, Any]) -> dict[str, Any] | None:
    """A Serve config for a file holding LLM configs rather than applications (what
    `serve run llm_config.yaml` accepts): `llm_configs: [...]` (LLMServingArgs) or one
    LLMConfig at the top level. None when `data` is not such a file."""
    if "applications" in data:
        return None
    if "llm_configs" in data:
        args = data
    elif "model_loading_config" in data:
        args = {"llm_configs": [data]}
    else:
        return None
    LLMServingArgs.model_validate(args)  # fail here, with the file's own error
    return {"applications": [{"name": "default", "route_prefix": "/",
                              "import_path": "ember.serve.llm:build_openai_app",
                              "args": args}]}
