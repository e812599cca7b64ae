"""PrefixCacheAffinityRouter: send prompts that share a prefix to the same replica.

An engine that caches the keys and values of prompts it has seen (vLLM's prefix cache)
answers faster when a request's prefix (a system prompt, a long document, the earlier
turns of a chat) is already cached. This router remembers, in a character trie, which
replica served which prompts. While the replicas' loads are balanced (the busiest has at
most `imbalanced_threshold` more requests in flight than the idlest) a request goes to
the replica holding its longest prefix, if that prefix covers at least
`match_rate_threshold` of the prompt; a prompt that matches nowhere goes to the replica
holding the least text (so that new prefixes spread out). Ties, and unbalanced load,
fall back to power of two choices. Ray's PrefixCacheAffinityRouter behaves this way.

    LLMConfig(..., deployment_config={"request_router_config": {
        "request_router_class": PrefixCacheAffinityRouter}})
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from typing import Any

from ember.serve._router import PendingRequest, ReplicaInfo, RequestRouter

__all__ = ["PrefixCacheAffinityRouter", "PrefixTree"]


class _Node:
    __slots__ = ("children", "tenants")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.tenants: dict[str, int] = {}  # replica -> prompts through this node


class PrefixTree:
    """Which replica (tenant) holds which prompts, one character per edge.

    Each tenant keeps at most `max_chars` characters of prompts; past that its least
    recently used prompts are forgotten.
    """

    def __init__(self, max_chars: int = 400_000) -> None:
        self.root = _Node()
        self.max_chars = max_chars
        self.prompts: dict[str, OrderedDict[str, None]] = {}
        self.chars: dict[str, int] = {}

    def insert(self, text: str, tenant: str) -> None:
        held = self.prompts.setdefault(tenant, OrderedDict())
        if text in held:
            held.move_to_end(text)
            return
        held[text] = None
        self.chars[tenant] = self.chars.get(tenant, 0) + len(text)
        node = self.root
        for ch in text:
            node = node.children.setdefault(ch, _Node())
            node.tenants[tenant] = node.tenants.get(tenant, 0) + 1
        while self.chars[tenant] > self.max_chars and len(held) > 1:
            old, _ = held.popitem(last=False)
            self._remove(old, tenant)

    def _remove(self, text: str, tenant: str) -> None:
        self.chars[tenant] -= len(text)
        node = self.root
        for ch in text:
            child = node.children.get(ch)
            if child is None:
                return
            n = child.tenants.get(tenant, 0) - 1
            if n <= 0:
                child.tenants.pop(tenant, None)
            else:
                child.tenants[tenant] = n
            if not child.tenants:
                del node.children[ch]
                return
            node = child

    def remove_tenant(self, tenant: str) -> None:
        for text in list(self.prompts.pop(tenant, {})):
            self._remove(text, tenant)
        self.chars.pop(tenant, None)

    def match(self, text: str, tenants: set[str]) -> dict[str, int]:
        """The longest prefix of `text` each of `tenants` holds (characters)."""
        best: dict[str, int] = {}
        node = self.root
        for depth, ch in enumerate(text, 1):
            node = node.children.get(ch)  # type: ignore[assignment]
            if node is None:
                break
            hit = [t for t in node.tenants if t in tenants]
            if not hit:
                break
            for t in hit:
                best[t] = depth
        return best


class PrefixCacheAffinityRouter(RequestRouter):
    """Prefix-cache-aware routing (see the module docstring)."""

    def __init__(self, imbalanced_threshold: int = 10, match_rate_threshold: float = 0.1,
                 max_chars_per_replica: int = 400_000) -> None:
        self.imbalanced_threshold = imbalanced_threshold
        self.match_rate_threshold = match_rate_threshold
        self.tree = PrefixTree(max_chars_per_replica)

    def on_replicas_changed(self, replica_ids: set[str]) -> None:
        for gone in set(self.tree.prompts) - replica_ids:
            self.tree.remove_tenant(gone)

    def choose(self, candidates: list[ReplicaInfo], inflight: dict[str, int],
               request: PendingRequest) -> ReplicaInfo | None:
        text = prompt_of(request)
        if not text:
            return None
        loads = [inflight.get(r.replica_id, 0) for r in candidates]
        if max(loads) - min(loads) > self.imbalanced_threshold:
            chosen = _two_choices(candidates, inflight)
        else:
            ids = {r.replica_id for r in candidates}
            matches = self.tree.match(text, ids)
            top = max(matches.values(), default=0)
            if top and top / len(text) >= self.match_rate_threshold:
                pool = [r for r in candidates if matches.get(r.replica_id) == top]
            else:
                least = min(self.tree.chars.get(r.replica_id, 0) for r in candidates)
                pool = [r for r in candidates if self.tree.chars.get(r.replica_id, 0) == least]
            chosen = _two_choices(pool, inflight)
        self.tree.insert(text, chosen.replica_id)
        return chosen


def _two_choices(pool: list[ReplicaInfo], inflight: dict[str, int]) -> ReplicaInfo:
    if len(pool) == 1:
        return pool[0]
    a, b = random.sample(pool, 2)
    return a if inflight.get(a.replica_id, 0) <= inflight.get(b.replica_id, 0) else b


def prompt_of(request: PendingRequest) -> str:
    """The prompt a request carries: an OpenAI request object (`prompt_text()`), a
    string, or for HTTP requests the `messages`/`prompt` of the JSON body."""
    args: tuple = request.args
    if request.kind == "http" and len(args) >= 2 and isinstance(args[1], bytes | bytearray):
        return _prompt_of_body(bytes(args[1]))
    for a in (*args, *request.kwargs.values()):
        if isinstance(a, str):
            return a
        fn = getattr(a, "prompt_text", None)
        if callable(fn):
            return fn()
    return ""


def _prompt_of_body(body: bytes) -> str:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    if isinstance(data.get("messages"), list):
        return "\n".join(f"{m.get('role', '')}: {m.get('content', '')}"
                         for m in data["messages"] if isinstance(m, dict))
    prompt = data.get("prompt")
    return prompt if isinstance(prompt, str) else ""
