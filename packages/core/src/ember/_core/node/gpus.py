"""Which GPU ids a task or actor gets: whole GPUs exclusively, fractions packed."""

from __future__ import annotations


class GpuIds:
    """Free capacity per GPU index; not thread-safe (the node manager locks)."""

    def __init__(self, count: int) -> None:
        self.free = [1.0] * count

    def allocate(self, amount: float) -> list[int]:
        """Ids for `amount` GPUs; the scheduler has already reserved the quantity."""
        if amount <= 0 or not self.free:
            return []
        if amount < 1:
            for i, f in enumerate(self.free):
                if f + 1e-9 >= amount:
                    self.free[i] = f - amount
                    return [i]
            return []
        ids = [i for i, f in enumerate(self.free) if f >= 1 - 1e-9][: int(amount)]
        for i in ids:
            self.free[i] = 0.0
        return ids

    def release(self, ids: list[int], amount: float) -> None:
        share = amount if amount < 1 else 1.0
        for i in ids:
            self.free[i] = min(1.0, self.free[i] + share)
