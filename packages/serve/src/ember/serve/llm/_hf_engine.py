"""A CPU engine on Hugging Face transformers, with continuous batching.

One background thread owns the model. Each step it takes the requests that arrived
since the last step into the running batch, runs one forward pass over every running
sequence (left-padded, grouped by LoRA adapter), samples one token per sequence and
hands each caller the text its token added. A sequence leaves the batch when it stops;
new ones join between steps, so concurrent requests share every forward pass. The batch
keeps a KV cache (`kv_cache`, on by default): sequences that ran the previous step feed
one token each, sequences that just joined are prefilled in a pass of their own and
their cache is stacked onto the batch's (left-padded).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import queue
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ember.serve.llm._engine import EngineError, GenerationChunk, LLMEngine, SamplingParams

__all__ = ["HFEngine"]


@dataclass
class _Seq:
    """One running generation (touched by the engine thread only, but `cancelled`)."""

    ids: list[int]
    prompt_len: int
    params: SamplingParams
    max_new: int
    adapter: str | None
    deliver: Callable[[GenerationChunk | BaseException], None]
    generator: Any = None
    emitted: str = ""
    cancelled: bool = False
    stop_len: int = 0

    @property
    def generated(self) -> list[int]:
        return self.ids[self.prompt_len:]


@dataclass
class _Cohort:
    """The sequences one adapter's last forward pass ran, with their KV cache and mask."""

    seqs: list[_Seq]
    cache: Any
    mask: Any


@dataclass
class _Job:
    """Work other than generation, run on the engine thread between steps."""

    fn: Callable[[], Any]
    deliver: Callable[[Any, BaseException | None], None]


@dataclass
class _Inbox:
    items: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    wake: threading.Event = field(default_factory=threading.Event)

    def put(self, item: Any) -> None:
        self.items.put(item)
        self.wake.set()


class HFEngine(LLMEngine):
    """transformers' causal LM in this process; `engine_kwargs`: dtype ("float32"),
    max_model_len, max_num_seqs (64), num_threads (torch's intra-op threads, 1), kv_cache
    (True)."""

    def __init__(self, model_id: str, model_source: str, engine_kwargs: dict[str, Any]) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        kwargs = dict(engine_kwargs)
        known = {"dtype", "max_model_len", "max_num_seqs", "num_threads", "trust_remote_code",
                 "kv_cache"}
        unknown = set(kwargs) - known
        if unknown:
            raise ValueError(f"The CPU engine does not take engine_kwargs {sorted(unknown)} "
                             f"(it takes {sorted(known)}).")
        # One thread by default: the batch is small, and torch's thread pool contending
        # with the replica's own threads costs 20x on a busy CPU.
        torch.set_num_threads(int(kwargs.get("num_threads") or 1))
        # The engine thread runs Python between torch ops nearly all the time; with the
        # default 5 ms switch interval the replica's event loop (taking requests, sending
        # tokens) waits that long for the GIL at every turn.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        self.model_id = model_id
        self._torch = torch
        trust = bool(kwargs.get("trust_remote_code", False))
        self.tokenizer = AutoTokenizer.from_pretrained(model_source, trust_remote_code=trust)
        dtype = getattr(torch, kwargs.get("dtype", "float32"))
        self.model = AutoModelForCausalLM.from_pretrained(
            model_source, dtype=dtype, trust_remote_code=trust).eval()
        cfg = self.model.config
        self.max_model_len = int(kwargs.get("max_model_len") or
                                 getattr(cfg, "max_position_embeddings", 2048))
        self.max_num_seqs = int(kwargs.get("max_num_seqs", 64))
        self.eos_ids = _eos_ids(self.tokenizer, cfg)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = next(iter(self.eos_ids), 0)
        self._models: dict[str | None, Any] = {None: self.model}
        self._kv = bool(kwargs.get("kv_cache", True))
        self._cohorts: dict[str | None, _Cohort] = {}  # engine thread only
        self._inbox = _Inbox()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopped = False

    # -- the public interface -----------------------------------------------------------

    def count_tokens(self, prompt: str | Sequence[int]) -> int:
        return len(self._encode(prompt))

    def apply_chat_template(self, messages: list[dict[str, Any]],
                            add_generation_prompt: bool = True) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise EngineError(f"Model {self.model_id!r} has no chat template; use "
                              "/v1/completions.")
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    async def stream(self, prompt: str | Sequence[int], params: SamplingParams,
                     adapter: str | None = None) -> AsyncIterator[GenerationChunk]:
        ids = self._encode(prompt)
        n = len(ids)
        if n == 0:
            raise EngineError("The prompt is empty.")
        if adapter is not None and adapter not in self._models:
            raise EngineError(f"The LoRA adapter {adapter!r} is not loaded.")
        room = self.max_model_len - n
        max_new = params.max_tokens if params.max_tokens is not None else room
        if max_new < 1:
            raise EngineError("max_tokens must be at least 1.")
        if max_new > room:
            raise EngineError(
                f"This model's maximum context length is {self.max_model_len} tokens. "
                f"However, you requested {n + max_new} tokens ({n} in the messages, "
                f"{max_new} in the completion). Please reduce the length of the messages "
                "or completion.")
        loop = asyncio.get_running_loop()
        out: asyncio.Queue = asyncio.Queue()

        def deliver(item: GenerationChunk | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(out.put_nowait, item)
            except RuntimeError:  # the caller's loop is closed: nobody reads this any more
                seq.cancelled = True

        gen = None
        if params.temperature > 0:
            gen = self._torch.Generator()
            if params.seed is not None:
                gen.manual_seed(params.seed)
            else:
                gen.seed()
        seq = _Seq(list(ids), n, params, max_new, adapter, deliver, gen,
                   stop_len=max((len(s) for s in params.stop), default=0))
        self._ensure_thread()
        self._inbox.put(seq)
        try:
            while True:
                item = await out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            seq.cancelled = True  # the caller left early: the engine drops it next step

    async def embed(self, inputs: Sequence[str | Sequence[int]]) -> tuple[list[list[float]], int]:
        batch = [self._encode(x) for x in inputs]
        for ids in batch:
            if not ids:
                raise EngineError("An input to embed is empty.")
            if len(ids) > self.max_model_len:
                raise EngineError(f"An input is {len(ids)} tokens, over the model's maximum "
                                  f"context length of {self.max_model_len}.")
        vectors = await self._run_job(lambda: self._embed(batch))
        return vectors, sum(map(len, batch))

    async def load_lora(self, name: str, path: str) -> None:
        model = await asyncio.to_thread(_merged_lora_model, self.model, path)
        await self._run_job(lambda: self._models.__setitem__(name, model))

    async def unload_lora(self, name: str) -> None:
        await self._run_job(lambda: self._models.pop(name, None))

    def close(self) -> None:
        self._stopped = True
        self._inbox.wake.set()

    # -- the engine thread --------------------------------------------------------------

    def _encode(self, prompt: str | Sequence[int]) -> list[int]:
        if isinstance(prompt, str):
            return self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = [int(t) for t in prompt]
        vocab = len(self.tokenizer)
        if any(t < 0 or t >= vocab for t in ids):
            raise EngineError(f"Token ids must be in [0, {vocab}).")
        return ids

    async def _run_job(self, fn: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def deliver(value: Any, exc: BaseException | None) -> None:
            def settle() -> None:
                if not fut.done():
                    fut.set_exception(exc) if exc is not None else fut.set_result(value)
            try:
                loop.call_soon_threadsafe(settle)
            except RuntimeError:  # the caller's loop is closed
                pass

        self._ensure_thread()
        self._inbox.put(_Job(fn, deliver))
        return await fut

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name=f"ember-llm-engine-{self.model_id}")
                    self._thread.start()

    def _run(self) -> None:
        running: list[_Seq] = []
        waiting: list[_Seq] = []
        inbox = self._inbox
        while not self._stopped:
            if not running and not waiting:
                inbox.wake.wait()
            inbox.wake.clear()
            while True:
                try:
                    item = inbox.items.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Job):
                    try:
                        item.deliver(item.fn(), None)
                    except BaseException as e:  # noqa: BLE001 - handed to the caller
                        item.deliver(None, e)
                else:
                    waiting.append(item)
            while waiting and len(running) < self.max_num_seqs:
                running.append(waiting.pop(0))
            running = [s for s in running if not s.cancelled]
            if running:
                try:
                    self._step(running)
                except BaseException as e:  # noqa: BLE001 - fail these requests, keep going
                    for s in running:
                        s.deliver(e)
                        s.cancelled = True
                running = [s for s in running if not s.cancelled]
            if not running:
                self._cohorts.clear()  # nothing left to continue: free the caches

    def _step(self, running: list[_Seq]) -> None:
        groups: dict[str | None, list[_Seq]] = {}
        for s in running:
            groups.setdefault(s.adapter, []).append(s)
        for adapter in list(self._cohorts):
            if adapter not in groups:
                del self._cohorts[adapter]
        for adapter, seqs in groups.items():
            model = self._models.get(adapter)
            if model is None:
                self._cohorts.pop(adapter, None)
                for s in seqs:
                    s.deliver(EngineError(f"The LoRA adapter {adapter!r} was unloaded."))
                    s.cancelled = True
                continue
            for s, row in self._forward(model, adapter, seqs):
                s.ids.append(self._sample(row, s))
                self._advance(s)

    def _forward(self, model: Any, adapter: str | None,
                 seqs: list[_Seq]) -> list[tuple[_Seq, Any]]:
        """Next-token logits for each of `seqs`. With the KV cache, sequences that ran the
        previous step feed one token each; sequences new to the batch are prefilled
        (left-padded) in a pass of their own and their cache joins the batch's."""
        torch = self._torch
        cohort = self._cohorts.get(adapter) if self._kv else None
        index = {id(s): i for i, s in enumerate(cohort.seqs)} if cohort is not None else {}
        old = [s for s in seqs if id(s) in index]
        new = [s for s in seqs if id(s) not in index]
        out: list[tuple[_Seq, Any]] = []
        if old:
            assert cohort is not None
            if len(old) != len(cohort.seqs):
                keep = torch.tensor([index[id(s)] for s in old], dtype=torch.long)
                cohort.cache.batch_select_indices(keep)
                cohort.mask = cohort.mask[keep]
            positions = cohort.mask.sum(-1, keepdim=True)
            cohort.mask = torch.cat(
                [cohort.mask, torch.ones((len(old), 1), dtype=torch.long)], dim=1)
            ids = torch.tensor([[s.ids[-1]] for s in old], dtype=torch.long)
            with torch.inference_mode():
                res = model(input_ids=ids, attention_mask=cohort.mask, position_ids=positions,
                            cache=cohort.cache, use_cache=True, logits_to_keep=1)
            cohort.seqs, cohort.cache = old, res.cache
            logits = res.logits[:, -1, :].float()
            out += [(s, logits[i]) for i, s in enumerate(old)]
        if new:
            width = max(len(s.ids) for s in new)
            ids = torch.full((len(new), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(new), width), dtype=torch.long)
            for i, s in enumerate(new):
                ids[i, width - len(s.ids):] = torch.tensor(s.ids)
                mask[i, width - len(s.ids):] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            with torch.inference_mode():
                res = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                            use_cache=self._kv, logits_to_keep=1)
            logits = res.logits[:, -1, :].float()
            out += [(s, logits[i]) for i, s in enumerate(new)]
            if self._kv:
                fresh = _Cohort(new, res.cache, mask)
                self._cohorts[adapter] = _merge(cohort, fresh) if old else fresh
        elif not old:
            self._cohorts.pop(adapter, None)
        return out

    def _sample(self, logits: Any, s: _Seq) -> int:
        torch = self._torch
        p = s.params
        if p.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / p.temperature, dim=-1)
        if p.top_p < 1.0:
            sorted_p, order = torch.sort(probs, descending=True)
            keep = sorted_p.cumsum(-1) - sorted_p < p.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
        return int(torch.multinomial(probs, 1, generator=s.generator))

    def _advance(self, s: _Seq) -> None:
        """Decide whether `s` stopped, and hand its caller the new text."""
        gen = s.generated
        finish = None
        if gen[-1] in self.eos_ids and not s.params.ignore_eos:
            finish = "stop"
            gen = gen[:-1]
        text = self.tokenizer.decode(gen, skip_special_tokens=True)
        if s.params.stop:
            start = max(0, len(s.emitted) - s.stop_len)
            hits = [i for i in (text.find(stop, start) for stop in s.params.stop) if i >= 0]
            if hits:
                text, finish = text[:min(hits)], "stop"
        if finish is None and len(s.generated) >= s.max_new:
            finish = "length"
        end = len(text)
        if finish is None:
            end = _safe_end(text, s.params.stop)
        if not text.startswith(s.emitted):
            end = len(s.emitted)  # decoding rewrote earlier text: emit nothing more now
            delta = ""
        else:
            delta = text[len(s.emitted):max(end, len(s.emitted))]
        if delta or finish is not None:
            s.emitted += delta
            s.deliver(GenerationChunk(delta, len(s.generated), s.prompt_len, finish))
        if finish is not None:
            s.cancelled = True

    def _embed(self, batch: list[list[int]]) -> list[list[float]]:
        torch = self._torch
        width = max(map(len, batch))
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, row in enumerate(batch):
            ids[i, :len(row)] = torch.tensor(row)
            mask[i, :len(row)] = 1
        base = getattr(self.model, "model", None) or self.model.base_model
        with torch.inference_mode():
            hidden = base(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        m = mask.unsqueeze(-1).float()
        pooled = (hidden * m).sum(1) / m.sum(1)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.tolist()


def _merge(a: _Cohort, b: _Cohort) -> _Cohort:
    """One batch of two: caches and masks left-padded to the longer, stacked."""
    import torch

    width = max(a.mask.shape[1], b.mask.shape[1])

    def pad(t: Any, dim: int) -> Any:
        missing = width - t.shape[dim]
        if missing == 0:
            return t
        shape = list(t.shape)
        shape[dim] = missing
        return torch.cat([torch.zeros(shape, dtype=t.dtype), t], dim=dim)

    for la, lb in zip(a.cache.layers, b.cache.layers, strict=True):
        la.keys = torch.cat([pad(la.keys, 2), pad(lb.keys, 2)], dim=0)
        la.values = torch.cat([pad(la.values, 2), pad(lb.values, 2)], dim=0)
    return _Cohort(a.seqs + b.seqs, a.cache, torch.cat([pad(a.mask, 1), pad(b.mask, 1)]))


def _safe_end(text: str, stops: list[str]) -> int:
    """How much of `text` can be sent now: not a half-decoded character at the end, nor
    an ending that may grow into a stop sequence."""
    end = len(text)
    while end > 0 and text[end - 1] == "\ufffd":
        end -= 1
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                end = min(end, len(text) - k)
                break
    return end


def _eos_ids(tokenizer: Any, config: Any) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def _merged_lora_model(base: Any, path: str) -> Any:
    """A copy of `base` with the LoRA adapter at `path` merged into its weights
    (W += B @ A * alpha / r), read from PEFT's file layout."""
    import torch
    from safetensors.torch import load_file

    cfg_path = os.path.join(path, "adapter_config.json")
    weights_path = os.path.join(path, "adapter_model.safetensors")
    if not (os.path.exists(cfg_path) and os.path.exists(weights_path)):
        raise EngineError(f"No LoRA adapter at {path!r} (adapter_config.json and "
                          "adapter_model.safetensors are needed).")
    with open(cfg_path) as f:
        cfg = json.load(f)
    scale = float(cfg.get("lora_alpha", cfg.get("r", 1))) / float(cfg.get("r", 1))
    tensors = load_file(weights_path)
    model = copy.deepcopy(base)
    modules = dict(model.named_modules())
    for key, a in tensors.items():
        if ".lora_A." not in key:
            continue
        b = tensors[key.replace(".lora_A.", ".lora_B.")]
        name = key.split(".lora_A.")[0].removeprefix("base_model.model.")
        module = modules.get(name)
        if module is None:
            raise EngineError(f"The LoRA adapter at {path!r} names a module {name!r} "
                              "the model does not have.")
        with torch.no_grad():
            module.weight += (b.to(module.weight.dtype) @ a.to(module.weight.dtype)) * scale
    return model.eval()
