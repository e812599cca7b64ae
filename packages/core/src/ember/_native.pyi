"""Types for ember._native, the C++ core: the shared-memory object store and the scheduler.

Exceptions::

    MemoryError
     └── StoreFullError        no room can be made for an object
    ValueError
     ├── ObjectExistsError     an object with this id exists (or is deleted but still pinned)
     └── InfeasibleError       no node could ever satisfy a request / placement group
    KeyError
     └── ObjectNotFoundError   unknown, unsealed or deleted object
    OSError
     └── NativeIOError         spilling to or restoring from disk failed

Invalid arguments (bad ranges, negative resources, unknown strategy names) raise ValueError.
Scheduler lookups of unknown nodes or placement groups raise plain KeyError.
"""

from collections.abc import Callable

from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

class StoreFullError(MemoryError): ...
class ObjectExistsError(ValueError): ...
class ObjectNotFoundError(KeyError): ...
class InfeasibleError(ValueError): ...
class NativeIOError(OSError): ...

class ObjectStore:
    """A node's object store over one anonymous memfd, owned by one process.

    Every method is thread-safe and releases the GIL while it runs.
    """

    def __init__(self, capacity: int, spill_dir: str = "") -> None:
        """Maps `capacity` bytes (sparse: memory is used only when touched).

        With `spill_dir`, unpinned sealed objects are spilled there under memory pressure
        (into a private subdirectory that is removed with the store).
        """

    @property
    def fd(self) -> int:
        """The memfd; hand it to child processes with subprocess `pass_fds`."""

    @property
    def capacity(self) -> int: ...
    @property
    def region(self) -> Region:
        """A Region over this store's own mapping (shares it; no second mapping)."""

    def create(self, object_id: bytes, size: int, evictable: bool = False) -> int:
        """Reserves `size` bytes (64-byte aligned offset) for an unsealed object pinned by its
        creator, evicting secondary copies or spilling LRU objects if needed.

        Raises ObjectExistsError, StoreFullError, NativeIOError, ValueError (empty id).
        """

    def seal(self, object_id: bytes) -> None:
        """Makes the object readable and drops the creator's pin."""

    def abort(self, object_id: bytes) -> None:
        """Drops an unsealed object."""

    def get(self, object_id: bytes) -> tuple[int, int]:
        """Pins a sealed object and returns (offset, size), restoring it from disk if spilled.

        Raises ObjectNotFoundError if unknown or unsealed.
        """

    def release(self, object_id: bytes) -> None:
        """Drops one pin taken by get()."""

    def delete(self, object_id: bytes) -> None:
        """Deletes the object now, or when its last pin is released (it is hidden at once)."""

    def contains(self, object_id: bytes) -> bool:
        """True if the object is sealed, in memory or spilled."""

    def stats(self) -> dict[str, int]:
        """capacity, used_bytes (allocated, incl. alignment), num_objects, num_pinned,
        num_spilled, spilled_bytes_current, spilled_total, spilled_bytes_total,
        restored_total, restored_bytes_total, evicted_total, evicted_bytes_total."""

    def list_objects(self) -> list[tuple[bytes, int, str, int]]:
        """(id, size, "CREATED" | "SEALED" | "SPILLED", pin count) per object, sorted by id."""

class Region:
    """A MAP_SHARED read/write mapping of a store's memfd in any process."""

    def __init__(self, fd: int, size: int) -> None: ...
    @property
    def size(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def read_from(self, fd: int, offset: int, size: int) -> None:
        """Read exactly `size` bytes from a socket/pipe fd into [offset, offset + size)."""
    def write(self, offset: int, data: Buffer) -> None:
        """Copies a contiguous buffer to [offset, offset + len); bounds-checked, GIL released,
        split over a few threads from 8 MiB up."""

    def view(
        self, offset: int, size: int, on_release: Callable[[], None] | None = None
    ) -> memoryview:
        """A read-only, zero-copy view of [offset, offset + size).

        `on_release` is called exactly once when the view and everything built on it (a numpy
        array, pickle out-of-band buffers) are gone: that is how readers keep an object pinned.
        """

    def close(self) -> None:
        """Drops this mapping; later view()/write() raise ValueError. Views still alive keep
        the memory mapped until they die."""

class Scheduler:
    """Resource bookkeeping and placement decisions for all nodes. Not thread-safe.

    Resources are dict[str, float] held in fixed point (1/10000); zero entries are dropped,
    negative ones raise ValueError.
    """

    def __init__(self) -> None: ...
    def add_node(self, node_id: str, resources: dict[str, float]) -> None: ...
    def remove_node(self, node_id: str) -> None: ...
    def nodes(self) -> list[str]: ...
    def total(self, node_id: str) -> dict[str, float]: ...
    def available(self, node_id: str) -> dict[str, float]: ...
    def is_feasible(self, request: dict[str, float]) -> bool: ...
    def pick_node(
        self,
        request: dict[str, float],
        strategy: str = "DEFAULT",
        local_node: str = "",
        affinity_node: str = "",
        soft: bool = False,
        spread_threshold: float = 0.5,
    ) -> str:
        """A node that can take `request` now, or "" (queue it). Does not reserve: call acquire().

        strategy: "DEFAULT" (hybrid), "SPREAD" (round-robin) or "NODE_AFFINITY". A non-empty
        affinity_node pins the request there (hard) or prefers it (soft, else DEFAULT).
        Raises InfeasibleError when no node could ever take it.
        """

    def acquire(self, node_id: str, request: dict[str, float]) -> bool: ...
    def release(self, node_id: str, request: dict[str, float]) -> None: ...
    def create_placement_group(
        self, pg_id: str, bundles: list[dict[str, float]], strategy: str
    ) -> list[str]:
        """Reserves all bundles atomically; one node id per bundle, or [] if not possible now.

        strategy: "PACK", "SPREAD", "STRICT_PACK" or "STRICT_SPREAD".
        Raises InfeasibleError if it can never be placed on the current nodes.
        """

    def reserve_placement_group(
        self, pg_id: str, bundle_nodes: list[str], bundles: list[dict[str, float]]
    ) -> bool:
        """Holds bundles on the given nodes (a peer's part of a group); False if not now."""

    def replace_lost_bundles(self, pg_id: str, strategy: str) -> list[str]:
        """Places again the bundles of a group that were on nodes now gone; one node id
        per bundle, or [] if not possible now."""

    def remove_placement_group(self, pg_id: str) -> None: ...
    def acquire_bundle(self, pg_id: str, bundle_index: int, request: dict[str, float]) -> str:
        """Takes `request` from a bundle (-1: the first that fits); its node id, or "" if not now."""

    def release_bundle(self, pg_id: str, bundle_index: int, request: dict[str, float]) -> None: ...
    def placement_group_bundles(self, pg_id: str) -> list[tuple[str, dict[str, float]]]: ...
