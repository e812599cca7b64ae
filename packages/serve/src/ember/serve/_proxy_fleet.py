"""The controller's HTTP proxies: where they run (`ProxyLocation`) and their addresses.

`HeadOnly` (the default) runs one proxy on the head node; `EveryNode` runs one on every
alive node, started as nodes join and forgotten when they leave, each listening on
`HTTPOptions.host:port` of its own node; `Disabled` runs none. The head node's proxy is
named `SERVE_PROXY_ACTOR` (the address `serve.start` reports); the others
`SERVE_PROXY_ACTOR-<node id>`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import ember
from ember.serve._constants import PROXY_NAME, SERVE_NAMESPACE
from ember.util.scheduling_strategies import NodeAffinitySchedulingStrategy

#: How often the controller looks for nodes that joined or left (EveryNode).
NODE_CHECK_PERIOD_S = 1.0
_HEAD_RESOURCE = "node:__internal_head__"
_DISABLED = ("NoServer", "Disabled")

__all__ = ["NODE_CHECK_PERIOD_S", "ProxyFleet", "ProxyRecord"]


@dataclass
class ProxyRecord:
    """One proxy: its actor, its node, its address once it listens."""

    node_id: str
    actor: Any
    address: str | None = None
    grpc_address: str | None = None
    error: str = ""


class ProxyFleet:
    """Starts and stops the proxies the location asks for (on the controller's loop)."""

    def __init__(self, spawn: Any) -> None:
        self._spawn = spawn
        self._options: dict = {}
        self._grpc: dict | None = None
        self.proxies: dict[str, ProxyRecord] = {}
        self.head_node_id: str | None = None
        self._starting: dict[str, asyncio.Task] = {}
        self._next_check = 0.0
        self._checking = False
        self.active = False

    @property
    def location(self) -> str:
        return self._options.get("location") or "HeadOnly"

    @property
    def head_address(self) -> str | None:
        rec = self.proxies.get(self.head_node_id or "")
        return rec.address if rec is not None else None

    async def ensure(self, options: dict, grpc_options: dict | None = None) -> str | None:
        """Start the proxies (once); returns the head node's proxy address."""
        if self.active:
            return self.head_address
        self._options = dict(options)
        self._grpc = grpc_options
        if self.location in _DISABLED:
            return None
        nodes = _alive_nodes()
        self.head_node_id = next((n for n, info in nodes.items()
                                  if _HEAD_RESOURCE in info.get("Resources", {})),
                                 ember.get_runtime_context().get_node_id())
        await self._start_on(self.head_node_id)
        self.active = True
        if self.location == "EveryNode":
            await self._check_nodes()
        return self.head_address

    def tick(self, now: float) -> None:
        """Look for joined and departed nodes now and then (EveryNode only)."""
        if not self.active or self.location != "EveryNode" or self._checking:
            return
        if now >= self._next_check:
            self._next_check = now + NODE_CHECK_PERIOD_S
            self._checking = True
            self._spawn(self._check_nodes())

    async def _check_nodes(self) -> None:
        try:
            nodes = _alive_nodes()
            for node_id in list(self.proxies):
                if node_id not in nodes:
                    self._forget(node_id)
            starts = [self._start_on(n) for n in nodes if n not in self.proxies]
            if starts:
                await asyncio.gather(*starts, return_exceptions=True)
        finally:
            self._checking = False

    async def _start_on(self, node_id: str) -> None:
        from ember.serve._proxy import ProxyActor

        name = PROXY_NAME if node_id == self.head_node_id else f"{PROXY_NAME}-{node_id}"
        actor = ember.remote(ProxyActor).options(
            name=name, namespace=SERVE_NAMESPACE, lifetime="detached", num_cpus=0,
            max_concurrency=100_000,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(self._options, self._grpc)
        rec = self.proxies[node_id] = ProxyRecord(node_id, actor)
        try:
            rec.address = await actor.ready.remote()
            rec.grpc_address = await actor.grpc_address.remote()
        except Exception as e:
            rec.error = f"{type(e).__name__}: {e}"
            self.proxies.pop(node_id, None)
            _kill(actor)
            if node_id == self.head_node_id:
                raise

    def _forget(self, node_id: str) -> None:
        rec = self.proxies.pop(node_id, None)
        if rec is not None:
            _kill(rec.actor)

    def status(self) -> dict[str, str]:
        return {n: "HEALTHY" if r.address else "STARTING" for n, r in self.proxies.items()}

    def addresses(self) -> dict[str, str]:
        return {n: r.address for n, r in self.proxies.items() if r.address}

    def grpc_addresses(self) -> dict[str, str]:
        return {n: r.grpc_address for n, r in self.proxies.items() if r.grpc_address}

    async def shutdown(self) -> None:
        records, self.proxies = list(self.proxies.values()), {}
        self.active = False

        async def stop(rec: ProxyRecord) -> None:
            try:
                await asyncio.wait_for(rec.actor.shutdown.remote(), 5)
            except Exception:  # noqa: BLE001
                pass
            _kill(rec.actor)

        await asyncio.gather(*(stop(r) for r in records))


def _alive_nodes() -> dict[str, dict]:
    return {n["NodeID"]: n for n in ember.nodes() if n.get("Alive")}


def _kill(actor: Any) -> None:
    try:
        ember.kill(actor)
    except Exception:  # noqa: BLE001 - already gone
        pass
