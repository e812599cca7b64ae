"""Rendezvous of a group's ranks through named actors.

Rank 0 hosts a torch `TCPStore` on its node's address and publishes that address in a
named actor, ``ember.collective:<group>``, which every rank creates or finds
(`get_if_exists`). The other ranks wait on the actor for the address, connect, and the
process group is built over the store. Once every rank is connected, rank 0 removes the
actor so that a later group of the same name starts afresh.

`create_collective_group` (declared from the driver) stores the members in a second named
actor, ``ember.collective.info:<group>``; a member looks itself up there on first use.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import ember

__all__ = ["GroupInfo", "StoreAddress", "info_actor_name", "rendezvous_actor_name"]


@dataclass(frozen=True)
class StoreAddress:
    """Where rank 0's TCPStore listens."""

    host: str
    port: int


@dataclass(frozen=True)
class GroupInfo:
    """A group declared from the driver: member actor ids (hex) and their ranks."""

    actor_ids: tuple[str, ...]
    ranks: tuple[int, ...]
    world_size: int
    backend: str

    def rank_of(self, actor_id: str) -> int | None:
        """The rank of the actor with this id, or None if it is not a member."""
        for aid, rank in zip(self.actor_ids, self.ranks, strict=True):
            if aid == actor_id:
                return rank
        return None


def rendezvous_actor_name(group_name: str) -> str:
    return f"ember.collective:{group_name}"


def info_actor_name(group_name: str) -> str:
    return f"ember.collective.info:{group_name}"


@ember.remote(num_cpus=0)
class Rendezvous:
    """Holds rank 0's store address until every rank has read it."""

    def __init__(self) -> None:
        self._address: StoreAddress | None = None
        self._published = asyncio.Event()

    async def publish(self, address: StoreAddress) -> None:
        self._address = address
        self._published.set()

    async def address(self) -> StoreAddress:
        await self._published.wait()
        assert self._address is not None
        return self._address


@ember.remote(num_cpus=0)
class InfoHolder:
    """Keeps a declared group's membership for its actors to read."""

    def __init__(self, info: GroupInfo) -> None:
        self._info = info

    def info(self) -> GroupInfo:
        return self._info
