"""ember.util.collective among real actors: gloo groups, in place, beside each other."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
col = pytest.importorskip("ember.util.collective")


@ember.remote(num_cpus=0)
class Member:
    def __init__(self) -> None:
        torch.set_num_threads(1)

    def join(self, world_size: int, rank: int, group: str) -> int:
        col.init_collective_group(world_size, rank, backend="gloo", group_name=group)
        return col.get_rank(group)

    def allreduce(self, values: list[float], group: str, op: str = "SUM") -> list[float]:
        t = torch.tensor(values)
        col.allreduce(t, group_name=group, op=col.ReduceOp[op])
        return t.tolist()

    def allreduce_numpy(self, values: list[float], group: str) -> list[float]:
        a = np.array(values, dtype=np.float64)
        col.allreduce(a, group_name=group)
        return a.tolist()

    def allgather(self, value: int, world_size: int, group: str) -> list[int]:
        out = [torch.zeros(2, dtype=torch.int64) for _ in range(world_size)]
        col.allgather(out, torch.tensor([value, value * 10]), group_name=group)
        return [t.tolist() for t in out]

    def broadcast(self, value: float, src: int, group: str) -> float:
        t = torch.tensor([value])
        col.broadcast(t, src_rank=src, group_name=group)
        return t.item()

    def barrier(self, group: str) -> int:
        col.barrier(group)
        return col.get_collective_group_size(group)

    def leave(self, group: str) -> bool:
        col.destroy_collective_group(group)
        return col.is_group_initialized(group)


@pytest.fixture(scope="module")
def members(cluster):
    ms = [Member.remote() for _ in range(3)]
    yield ms
    for m in ms:
        ember.kill(m)


def join_all(members, group):
    ranks = ember.get([m.join.remote(len(members), r, group) for r, m in enumerate(members)],
                      timeout=60)
    assert ranks == list(range(len(members)))


def test_allreduce_sums_in_place_on_every_rank(members):
    join_all(members, "sum")
    out = ember.get([m.allreduce.remote([r, 1.0], "sum") for r, m in enumerate(members)])
    assert out == [[3.0, 3.0]] * 3
    out = ember.get([m.allreduce.remote([r + 1.0], "sum", "MAX") for r, m in enumerate(members)])
    assert out == [[3.0]] * 3
    out = ember.get([m.allreduce.remote([r + 2.0], "sum", "PRODUCT")
                     for r, m in enumerate(members)])
    assert out == [[24.0]] * 3
    out = ember.get([m.allreduce_numpy.remote([r * 0.5], "sum") for r, m in enumerate(members)])
    assert out == [[1.5]] * 3


def test_allgather_broadcast_barrier(members):
    join_all(members, "misc")
    out = ember.get([m.allgather.remote(r, 3, "misc") for r, m in enumerate(members)])
    assert out == [[[0, 0], [1, 10], [2, 20]]] * 3
    out = ember.get([m.broadcast.remote(float(r + 7), 2, "misc") for r, m in enumerate(members)])
    assert out == [9.0] * 3
    assert ember.get([m.barrier.remote("misc") for m in members]) == [3] * 3


def test_groups_are_independent_and_a_name_can_be_reused(members):
    a, b, c = members
    join_all([a, b], "pair")
    join_all([c, a], "other")  # a is rank 1 here, rank 0 in "pair"
    assert ember.get([a.allreduce.remote([1.0], "pair"), b.allreduce.remote([2.0], "pair")]) \
        == [[3.0], [3.0]]
    assert ember.get([c.allreduce.remote([5.0], "other"), a.allreduce.remote([6.0], "other")]) \
        == [[11.0], [11.0]]
    assert ember.get([a.leave.remote("pair"), b.leave.remote("pair")]) == [False, False]
    join_all([b, a], "pair")  # same name, new members and ranks
    assert ember.get([b.broadcast.remote(4.0, 0, "pair"), a.broadcast.remote(0.0, 0, "pair")]) \
        == [4.0, 4.0]


def test_group_declared_from_the_driver(members):
    col.create_collective_group(members, 3, [2, 0, 1], backend="gloo", group_name="decl")
    try:
        out = ember.get([m.allgather.remote(i, 3, "decl") for i, m in enumerate(members)],
                        timeout=60)
        # members[1] is rank 0, members[2] rank 1, members[0] rank 2.
        assert out == [[[1, 10], [2, 20], [0, 0]]] * 3
    finally:
        col.destroy_collective_group("decl")


def test_errors_are_clear(members):
    with pytest.raises(RuntimeError, match="not initialized"):
        ember.get(members[0].barrier.remote("never"))
    with pytest.raises(ValueError, match="rank must be"):
        col.init_collective_group(2, 5, group_name="bad")
    with pytest.raises(ValueError, match="backend"):
        col.init_collective_group(2, 0, backend="mpi", group_name="bad")
    with pytest.raises(ValueError, match="read-only"):
        col.allreduce(np.frombuffer(b"\0" * 16), group_name="x")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_nccl_group_on_gpu(cluster):
    @ember.remote(num_gpus=1)
    def one_rank() -> list[float]:
        col.init_collective_group(1, 0, backend="nccl", group_name="gpu")
        t = torch.ones(3, device="cuda")
        col.allreduce(t, group_name="gpu")
        col.barrier("gpu")
        col.destroy_collective_group("gpu")
        return t.cpu().tolist()

    assert ember.get(one_rank.remote(), timeout=120) == [1.0, 1.0, 1.0]
