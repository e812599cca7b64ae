"""LLM serving overhead and prefix-aware routing.

    uv run python benchmarks/llm_serving.py --out llm.md

Part 1, what serving adds. The CPU engine with the tiny Llama model (hidden 64, 2
layers; `ember.serve.llm._tiny`) answers the same chat requests (about 20 prompt tokens,
`max_tokens` tokens with ignore_eos, greedy) two ways:

  * in-process: OpenAIServing over an HFEngine in this process (what a replica runs),
    its SSE frames parsed as the client parses them;
  * served: `build_openai_app` with one LLMServer replica, over HTTP with httpx through
    the proxy, the OpenAiIngress replica and the LLMServer replica.

at concurrency 1 and 32, streaming and not. Time to first token (TTFT: to the first
frame with content; the whole reply when not streaming) and inter-token latency (ITL:
between content frames) are reported as p50/p99; "added" is served minus in-process.

Part 2, routing. A synthetic trace of requests that share prefixes (--groups documents
of ~400 characters, each request one of them plus a question) is routed over 4 replicas
by PrefixCacheAffinityRouter and by power of two choices, in a discrete-time simulation
where each request holds its replica for 5-15 ticks and each replica's prefix cache
keeps its --cache-prefixes most recently used prefixes. Reported: the share of requests
(after each prefix's first) sent to a replica whose cache held their prefix, and load
balance as the busiest replica's share of requests over the mean and the mean spread of
in-flight requests (busiest minus idlest) at each arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, OrderedDict

PROMPT = "the quick brown fox jumps over the lazy dog and ember serves models"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def body(i: int, max_tokens: int, stream: bool) -> dict:
    return {"model": "tiny", "messages": [{"role": "user", "content": f"{PROMPT} {i % 10}"}],
            "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True, "stream": stream}


class Stats:
    def __init__(self) -> None:
        self.ttft: list[float] = []
        self.itl: list[float] = []

    def row(self) -> dict:
        return {"ttft_p50": pct(self.ttft, 50) * 1e3, "ttft_p99": pct(self.ttft, 99) * 1e3,
                "itl_p50": pct(self.itl, 50) * 1e3, "itl_p99": pct(self.itl, 99) * 1e3,
                "itl_mean": (statistics.fmean(self.itl) * 1e3) if self.itl else float("nan"),
                "n": len(self.ttft)}


def _has_content(frame: str) -> bool:
    if not frame.startswith("data: {"):
        return False
    obj = json.loads(frame[6:])
    choices = obj.get("choices") or []
    return bool(choices and choices[0].get("delta", {}).get("content"))


async def one_inprocess(serving, i: int, max_tokens: int, stream: bool, st: Stats) -> None:
    from ember.serve.llm._protocol import ChatCompletionRequest

    t0 = time.perf_counter()
    req = ChatCompletionRequest.model_validate_json(json.dumps(body(i, max_tokens, stream)))
    if not stream:
        json.dumps(await serving.chat(req))
        st.ttft.append(time.perf_counter() - t0)
        return
    last = None
    async for frame in serving.chat_stream(req):
        for line in frame.split("\n\n"):
            if _has_content(line):
                now = time.perf_counter()
                if last is None:
                    st.ttft.append(now - t0)
                else:
                    st.itl.append(now - last)
                last = now


async def one_served(client, url: str, i: int, max_tokens: int, stream: bool,
                     st: Stats) -> None:
    t0 = time.perf_counter()
    if not stream:
        r = await client.post(url, json=body(i, max_tokens, stream))
        r.raise_for_status()
        r.json()
        st.ttft.append(time.perf_counter() - t0)
        return
    last = None
    async with client.stream("POST", url, json=body(i, max_tokens, stream)) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if _has_content(line):
                now = time.perf_counter()
                if last is None:
                    st.ttft.append(now - t0)
                else:
                    st.itl.append(now - last)
                last = now


async def load(one, concurrency: int, rounds: int) -> None:
    async def worker(w: int) -> None:
        for r in range(rounds):
            await one(w * rounds + r)

    await asyncio.gather(*[worker(w) for w in range(concurrency)])


def overhead(model: str, max_tokens: int, rounds1: int, rounds32: int, reps: int) -> list[dict]:
    """Both ways side by side; each case alternates in-process and served rounds `reps`
    times, so that a change in the machine's load hits both alike."""
    import httpx

    import ember
    from ember import serve
    from ember.serve.llm import LLMConfig, build_openai_app
    from ember.serve.llm._hf_engine import HFEngine
    from ember.serve.llm._openai import OpenAIServing

    cases = [(1, rounds1), (32, rounds32)]
    stats = {(way, conc, stream): Stats() for way in ("in-process", "served")
             for conc, _ in cases for stream in (False, True)}
    serving = OpenAIServing(HFEngine("tiny", model, {}), "tiny")
    ember.init(num_cpus=4)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": 0})
        from ember.serve._client import get_controller

        base = ember.get(get_controller().get_status.remote())["proxy_address"]
        serve.run(build_openai_app({"llm_configs": [LLMConfig(
            model_loading_config={"model_id": "tiny", "model_source": model})]}),
            name="llm", route_prefix="/")
        url = f"{base}/v1/chat/completions"

        async def run() -> None:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(timeout=120, limits=limits) as client:
                for stream in (False, True):  # warm-up
                    await load(lambda i, s=stream: one_inprocess(
                        serving, i, max_tokens, s, Stats()), 4, 2)
                    await load(lambda i, s=stream: one_served(
                        client, url, i, max_tokens, s, Stats()), 4, 2)
                for conc, rounds in cases:
                    for stream in (False, True):
                        for _ in range(reps):
                            st = stats[("in-process", conc, stream)]
                            await load(lambda i, s=stream, st=st: one_inprocess(
                                serving, i, max_tokens, s, st), conc, rounds)
                            st = stats[("served", conc, stream)]
                            await load(lambda i, s=stream, st=st: one_served(
                                client, url, i, max_tokens, s, st), conc, rounds)

        asyncio.run(run())
    finally:
        serving.engine.close()
        serve.shutdown()
        ember.shutdown()
    rows = []
    for conc, _ in cases:
        for stream in (False, True):
            a = stats[("in-process", conc, stream)].row()
            b = stats[("served", conc, stream)].row()
            rows.append({"concurrency": conc, "stream": stream, "inproc": a, "served": b,
                         "added_ttft_p50": b["ttft_p50"] - a["ttft_p50"],
                         "added_ttft_p99": b["ttft_p99"] - a["ttft_p99"],
                         "added_itl_mean": b["itl_mean"] - a["itl_mean"]})
    return rows


# --------------------------------------------------------------------------- routing


def simulate(router_name: str, groups: int, n: int, replicas: int, seed: int,
             zipf: float, cache_prefixes: int) -> dict:
    from ember.serve._router import PendingRequest, ReplicaInfo
    from ember.serve.llm.request_router import PrefixCacheAffinityRouter

    rng = random.Random(seed)
    random.seed(seed)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    docs = [" ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(50))
            for _ in range(groups)]
    weights = [1.0 / (k + 1) ** zipf for k in range(groups)]
    reps = [ReplicaInfo(f"r{i}", None, 1_000_000) for i in range(replicas)]
    inflight = {r.replica_id: 0 for r in reps}
    policy = (PrefixCacheAffinityRouter(imbalanced_threshold=int(router_name.split("/")[1]))
              if router_name.startswith("prefix") else None)
    caches = {r.replica_id: OrderedDict() for r in reps}  # each replica's prefix cache
    seen: set[int] = set()
    ends: list[tuple[int, str]] = []
    hits = eligible = 0
    spread: list[int] = []
    served: Counter = Counter()
    tick = 0
    for i in range(n):
        tick += rng.choice((0, 0, 1))  # ~1.5 arrivals per tick: replicas stay busy
        still = []
        for end, rid in ends:
            if end <= tick:
                inflight[rid] -= 1
            else:
                still.append((end, rid))
        ends = still
        g = rng.choices(range(groups), weights)[0]
        req = PendingRequest("call", {}, (f"{docs[g]} question {i}?",), {})
        chosen = policy.choose(reps, inflight, req) if policy is not None else None
        if chosen is None:
            a, b = random.sample(reps, 2)
            chosen = a if inflight[a.replica_id] <= inflight[b.replica_id] else b
        rid = chosen.replica_id
        spread.append(max(inflight.values()) - min(inflight.values()))
        cache = caches[rid]
        if g in seen:
            eligible += 1
            hits += g in cache
        seen.add(g)
        cache[g] = None
        cache.move_to_end(g)
        while len(cache) > cache_prefixes:
            cache.popitem(last=False)
        served[rid] += 1
        inflight[rid] += 1
        ends.append((tick + rng.randint(5, 15), rid))
    mean = n / replicas
    return {"router": router_name, "hit_rate": hits / max(1, eligible),
            "max_over_mean": max(served.values()) / mean,
            "inflight_spread": statistics.fmean(spread),
            "shares": [served[r.replica_id] for r in reps]}


def routing(groups: int, n: int, seed: int, cache_prefixes: int) -> list[dict]:
    rows = []
    for zipf in (0.0, 1.0):
        for name in ("prefix/10", "prefix/3", "pow2"):
            rows.append({"zipf": zipf, **simulate(name, groups, n, 4, seed, zipf,
                                                  cache_prefixes)})
    return rows


def markdown(over: list[dict], route: list[dict], args: argparse.Namespace) -> str:
    out = [f"Overhead (max_tokens={args.max_tokens}, ms; added = served - in-process):", "",
           "| concurrency | stream | TTFT p50 in-proc / served / added | TTFT p99 in-proc / "
           "served / added | ITL mean in-proc / served / added | ITL p99 in-proc / served |",
           "|---:|---|---|---|---|---|"]
    for r in over:
        a, b = r["inproc"], r["served"]
        itl = (f"{a['itl_mean']:.2f} / {b['itl_mean']:.2f} / {r['added_itl_mean']:+.2f}"
               if r["stream"] else "-")
        itl99 = f"{a['itl_p99']:.2f} / {b['itl_p99']:.2f}" if r["stream"] else "-"
        out.append(f"| {r['concurrency']} | {'yes' if r['stream'] else 'no'} | "
                   f"{a['ttft_p50']:.2f} / {b['ttft_p50']:.2f} / {r['added_ttft_p50']:+.2f} | "
                   f"{a['ttft_p99']:.2f} / {b['ttft_p99']:.2f} / {r['added_ttft_p99']:+.2f} | "
                   f"{itl} | {itl99} |")
    out += ["", f"Routing ({args.requests} requests, {args.groups} prefixes, 4 replicas, "
            f"{args.cache_prefixes} prefixes cached per replica):", "",
            "| popularity | router (prefix/imbalanced_threshold) | requests to a replica holding their prefix | "
            "busiest replica / mean | mean in-flight max - min | requests per replica |",
            "|---|---|---:|---:|---:|---|"]
    for r in route:
        pop = "uniform" if r["zipf"] == 0 else f"Zipf {r['zipf']:g}"
        out.append(f"| {pop} | {r['router']} | {r['hit_rate'] * 100:.1f} % | "
                   f"{r['max_over_mean']:.3f} | {r['inflight_spread']:.2f} | {r['shares']} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--rounds1", type=int, default=10, help="requests per round at concurrency 1")
    p.add_argument("--rounds32", type=int, default=1, help="requests per worker per round at 32")
    p.add_argument("--reps", type=int, default=4, help="alternating rounds per case")
    p.add_argument("--groups", type=int, default=32)
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--cache-prefixes", type=int, default=12,
                   help="prefixes each replica's cache holds (LRU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    over: list[dict] = []
    if not args.skip_overhead:
        from ember.serve.llm._tiny import make_tiny_llama

        with tempfile.TemporaryDirectory() as tmp:
            model = make_tiny_llama(f"{tmp}/tiny")
            over = overhead(model, args.max_tokens, args.rounds1, args.rounds32, args.reps)
    route = routing(args.groups, args.requests, args.seed, args.cache_prefixes)
    text = markdown(over, route, args)
    print(text)
    print("RESULT " + json.dumps({"overhead": over, "routing": route}))
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
