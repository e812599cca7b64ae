"""Which GPU ids a task or actor gets: whole GPUs exclusively, fractions packed."""

from __future__ import annotations


class GpuIds:
    """Free capacity per GPU id; not thread-safe (the node manager locks).

    A node's pool holds its GPUs 0..count-1; a placement group bundle's pool holds the
    ids (and shares of them) the bundle took from its node's pool (`take`)."""

    def __init__(self, count: int = 0, capacity: dict[int, float] | None = None) -> None:
        self.capacity = dict(capacity) if capacity is not None else {i: 1.0 for i in range(count)}
        self.free = dict(self.capacity)

    def allocate(self, amount: float) -> list[int]:
        """Ids for `amount` GPUs; the scheduler has already reserved the quantity."""
        if amount <= 0 or not self.free:
            return []
        if amount < 1:
            for i, f in self.free.items():
                if f + 1e-9 >= amount:
                    self.free[i] = f - amount
                    return [i]
            return []
        ids = [i for i, f in self.free.items() if f >= 1 - 1e-9][: int(amount)]
        for i in ids:
            self.free[i] = 0.0
        return ids

    def take(self, amount: float) -> GpuIds | None:
        """A pool of `amount` GPUs taken out of this one (a bundle's), or None if none."""
        ids = self.allocate(amount)
        if not ids:
            return None
        share = amount if amount < 1 else 1.0
        return GpuIds(capacity={i: share for i in ids})

    def give_back(self, pool: GpuIds) -> None:
        """Return what `take` gave out."""
        for i, share in pool.capacity.items():
            self.release([i], share)

    def owns(self, ids: list[int], amount: float) -> bool:
        """Whether `ids` (allocated for `amount` GPUs) can go back to this pool."""
        share = amount if amount < 1 else 1.0
        return bool(ids) and all(self.free.get(i, 2.0) + share <= self.capacity.get(i, 0.0)
                                 + 1e-9 for i in ids)

    def release(self, ids: list[int], amount: float) -> None:
        share = amount if amount < 1 else 1.0
        for i in ids:
            if i in self.capacity:
                self.free[i] = min(self.capacity[i], self.free[i] + share)
