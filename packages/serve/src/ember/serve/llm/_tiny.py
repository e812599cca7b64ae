"""A tiny Llama-architecture model made on the spot, for tests and benchmarks.

Random weights in a Llama config (hidden size 64, 2 layers), a byte-level BPE tokenizer
trained offline with `tokenizers` on a small corpus, and a chat template: everything a
model directory from a hub holds, with nothing downloaded. Seeded, so two builds are equal.
"""

from __future__ import annotations

import json
import os

__all__ = ["make_tiny_llama", "make_tiny_lora"]

_CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "hello world, this is a tiny language model for tests",
    "ember serves models with an openai compatible api",
    "a prefix cache keeps the keys and values of a prompt",
    "system: you are a helpful assistant. user: hello! assistant: hi there",
    "one two three four five six seven eight nine ten",
    "streaming tokens arrive as server sent events",
]

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}"
    "</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")


def make_tiny_llama(path: str | os.PathLike, *, seed: int = 0, vocab_size: int = 256,
                    hidden_size: int = 64, num_layers: int = 2) -> str:
    """Write a tiny random Llama model with its tokenizer to `path`; returns the path.

    Written with numpy, safetensors and tokenizers alone (no torch or transformers
    import: a test's driver stays light); transformers and vLLM load it as any Llama."""
    import numpy as np
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tok.save(os.path.join(path, "tokenizer.json"))
    _write_json(path, "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "pad_token": "<pad>", "model_max_length": 512, "chat_template": CHAT_TEMPLATE})
    with open(os.path.join(path, "chat_template.jinja"), "w") as f:
        f.write(CHAT_TEMPLATE)
    vocab = tok.get_vocab_size()
    heads, kv_heads = 4, 2
    head_dim = hidden_size // heads
    inter = hidden_size * 2
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
              "vocab_size": vocab, "hidden_size": hidden_size, "intermediate_size": inter,
              "num_hidden_layers": num_layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "head_dim": head_dim, "hidden_act": "silu",
              "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
              "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
              "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "dtype": "float32",
              "torch_dtype": "float32"}
    _write_json(path, "config.json", config)
    _write_json(path, "generation_config.json",
                {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0})
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        # A wide init spreads the logits: fewer near-ties at argmax.
        return rng.normal(0.0, 0.2, size=shape).astype(np.float32)

    tensors = {"model.embed_tokens.weight": w(vocab, hidden_size),
               "model.norm.weight": np.ones(hidden_size, np.float32),
               "lm_head.weight": w(vocab, hidden_size)}
    for i in range(num_layers):
        p = f"model.layers.{i}."
        tensors.update({
            p + "input_layernorm.weight": np.ones(hidden_size, np.float32),
            p + "post_attention_layernorm.weight": np.ones(hidden_size, np.float32),
            p + "self_attn.q_proj.weight": w(heads * head_dim, hidden_size),
            p + "self_attn.k_proj.weight": w(kv_heads * head_dim, hidden_size),
            p + "self_attn.v_proj.weight": w(kv_heads * head_dim, hidden_size),
            p + "self_attn.o_proj.weight": w(hidden_size, heads * head_dim),
            p + "mlp.gate_proj.weight": w(inter, hidden_size),
            p + "mlp.up_proj.weight": w(inter, hidden_size),
            p + "mlp.down_proj.weight": w(hidden_size, inter),
        })
    save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    return path


def make_tiny_lora(path: str | os.PathLike, *, rank: int = 4, alpha: float = 8.0,
                   seed: int = 1, hidden_size: int = 64, num_layers: int = 2,
                   scale: float = 0.5) -> str:
    """Write a LoRA adapter for `make_tiny_llama`'s model in PEFT's file layout
    (adapter_config.json, adapter_model.safetensors) on q_proj and v_proj."""
    import numpy as np
    from safetensors.numpy import save_file

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    kv_dim = hidden_size // 2  # 2 of 4 heads for keys and values
    tensors = {}
    for layer in range(num_layers):
        for name, out_dim in (("q_proj", hidden_size), ("v_proj", kv_dim)):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{name}"
            tensors[f"{prefix}.lora_A.weight"] = (
                rng.normal(size=(rank, hidden_size)) * scale).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = (
                rng.normal(size=(out_dim, rank)) * scale).astype(np.float32)
    save_file(tensors, os.path.join(path, "adapter_model.safetensors"),
              metadata={"format": "pt"})
    _write_json(path, "adapter_config.json", {"peft_type": "LORA", "r": rank,
                                              "lora_alpha": alpha,
                                              "target_modules": ["q_proj", "v_proj"]})
    return path


def _write_json(path: str, name: str, obj: dict) -> None:
    with open(os.path.join(path, name), "w") as f:
        json.dump(obj, f, indent=2)
