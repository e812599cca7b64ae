"""The callable classes that run on the actor pool, one batch (an Arrow table) a call."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

__all__ = ["EngineStage", "HttpRequestStage"]

_SAMPLING_KEYS = ("max_tokens", "temperature", "top_p", "stop", "seed", "ignore_eos")


def _rows(batch: Any) -> list[dict]:
    return batch.to_pylist()


def _table(rows: list[dict]) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist(rows)


def _plain(value: Any) -> Any:
    """Arrow fills keys other rows had with None: drop them again."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class EngineStage:
    """Holds one engine for the actor's lifetime; generates (or embeds) each batch with
    every row in flight at once, so the engine batches them together."""

    def __init__(self, config: dict[str, Any]) -> None:
        try:
            from ember.serve.llm import make_engine
        except ImportError as e:  # pragma: no cover - ember-serve is not installed
            raise ImportError("LLM batch inference needs ember-serve[llm] for its engines "
                              "(pip install 'ember-serve[llm]').") from e
        self.config = config
        self.engine = make_engine("model", config["model_source"], config["engine_kwargs"],
                                  config["llm_engine"])
        # One loop on its own thread for the engine's callers, whichever thread calls.
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="ember-data-llm-loop")
        self._thread.start()

    def __call__(self, batch: Any) -> Any:
        rows = _rows(batch)
        work = self._embed(rows) if self.config["task_type"] == "embed" \
            else self._generate_all(rows)
        return _table(asyncio.run_coroutine_threadsafe(work, self.loop).result())

    def _prompt(self, row: dict) -> str | list[int]:
        if row.get("messages") is not None and self.config["apply_chat_template"]:
            messages = [_plain(m) for m in row["messages"]]
            return self.engine.apply_chat_template(messages)
        if row.get("prompt") is not None:
            return row["prompt"]
        if row.get("tokenized_prompt") is not None:
            return list(row["tokenized_prompt"])
        raise ValueError("Each row needs 'messages' or 'prompt' (make them in preprocess).")

    async def _generate_all(self, rows: list[dict]) -> list[dict]:
        return list(await asyncio.gather(*[self._generate(r) for r in rows]))

    async def _generate(self, row: dict) -> dict:
        from ember.serve.llm import SamplingParams

        prompt = self._prompt(row)
        given = _plain(row.get("sampling_params") or {})
        unknown = set(given) - set(_SAMPLING_KEYS)
        if unknown:
            raise ValueError(f"Unsupported sampling_params {sorted(unknown)}; supported: "
                             f"{list(_SAMPLING_KEYS)}.")
        if isinstance(given.get("stop"), str):
            given["stop"] = [given["stop"]]
        params = SamplingParams(**given)
        start = time.perf_counter()
        result = await self.engine.generate(prompt, params)
        out = {**row, "prompt": prompt if isinstance(prompt, str) else row.get("prompt"),
               "generated_text": result.text if self.config["detokenize"] else None,
               "num_input_tokens": result.prompt_tokens,
               "num_generated_tokens": result.completion_tokens,
               "finish_reason": result.finish_reason,
               "time_taken_llm": time.perf_counter() - start}
        return out

    async def _embed(self, rows: list[dict]) -> list[dict]:
        prompts = [self._prompt(r) for r in rows]
        vectors, _ = await self.engine.embed(prompts)
        return [{**r, "embeddings": v} for r, v in zip(rows, vectors, strict=True)]

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()
        loop = getattr(self, "loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


class HttpRequestStage:
    """POSTs each row's `payload`, with bounded concurrency, a rate limit and retries."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self._next_slot = 0.0

    def __call__(self, batch: Any) -> Any:
        rows = _rows(batch)
        return _table(self.loop.run_until_complete(self._all(rows)))

    async def _all(self, rows: list[dict]) -> list[dict]:
        import httpx

        cfg = self.config
        sem = asyncio.Semaphore(cfg["max_concurrent_requests"])
        async with httpx.AsyncClient(timeout=cfg["timeout_s"], headers=cfg["headers"]) as c:
            async def one(row: dict) -> dict:
                async with sem:
                    return {**row, "http_response": await self._post(c, row)}

            return list(await asyncio.gather(*[one(r) for r in rows]))

    async def _pace(self) -> None:
        qps = self.config["qps"]
        if qps is None:
            return
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / qps
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _post(self, client: Any, row: dict) -> Any:
        import httpx

        cfg = self.config
        if row.get("payload") is None:
            raise ValueError("Each row needs a 'payload' (make it in preprocess).")
        payload = _plain(row["payload"])
        attempt = 0
        while True:
            await self._pace()
            retry_reason = ""
            try:
                r = await client.post(cfg["url"], json=payload)
                if r.status_code == 429 or r.status_code >= 500:
                    retry_reason = f"HTTP {r.status_code}: {r.text[:200]}"
                else:
                    r.raise_for_status()
                    return r.json()
            except (httpx.TransportError, httpx.TimeoutException) as e:
                retry_reason = f"{type(e).__name__}: {e}"
            if attempt >= cfg["max_retries"]:
                raise RuntimeError(f"POST {cfg['url']} failed after {attempt + 1} tries: "
                                   f"{retry_reason}")
            wait = cfg["base_retry_wait_time_in_s"] * (2 ** attempt)
            await asyncio.sleep(wait * (0.5 + random.random() / 2))
            attempt += 1
