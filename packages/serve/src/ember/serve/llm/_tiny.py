"""A tiny Llama-architecture model made on the spot, for tests and benchmarks.

Random weights from a LlamaConfig (hidden size 64, 2 layers), a byte-level BPE tokenizer
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

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}"
    "</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")


def make_tiny_llama(path: str | os.PathLike, *, seed: int = 0, vocab_size: int = 256,
                    hidden_size: int = 64, num_layers: int = 2) -> str:
    """Write a tiny random Llama model with its tokenizer to `path`; returns the path."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    special = ["<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=hidden_size,
                         intermediate_size=hidden_size * 2, num_hidden_layers=num_layers,
                         num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, pad_token_id=fast.pad_token_id,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # a larger init spreads the logits: fewer near-ties at argmax
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.2)
    model.save_pretrained(path)
    return path


def make_tiny_lora(path: str | os.PathLike, *, rank: int = 4, alpha: float = 8.0,
                   seed: int = 1, hidden_size: int = 64, num_layers: int = 2,
                   scale: float = 0.5) -> str:
    """Write a LoRA adapter for `make_tiny_llama`'s model in PEFT's file layout
    (adapter_config.json, adapter_model.safetensors) on q_proj and v_proj."""
    import torch
    from safetensors.torch import save_file

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    kv_dim = hidden_size // 2  # 2 of 4 heads for keys and values
    tensors = {}
    for layer in range(num_layers):
        for name, out_dim in (("q_proj", hidden_size), ("v_proj", kv_dim)):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{name}"
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(rank, hidden_size, generator=g) * scale
            tensors[f"{prefix}.lora_B.weight"] = torch.randn(out_dim, rank, generator=g) * scale
    save_file(tensors, os.path.join(path, "adapter_model.safetensors"))
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "r": rank, "lora_alpha": alpha,
                   "target_modules": ["q_proj", "v_proj"]}, f)
    return path
