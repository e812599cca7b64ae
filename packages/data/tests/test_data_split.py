"""split, split_at_indices, split_proportionately, train_test_split and streaming_split."""

from __future__ import annotations

import threading

import pytest

import ember
import ember.data as rd

pytestmark = pytest.mark.usefixtures("cluster")


def _ids(ds):
    return [r["id"] for r in ds.take_all()]


def test_split_blocks_and_equal():
    parts = rd.range(100, override_num_blocks=10).split(3)
    assert sum(p.count() for p in parts) == 100
    assert sorted(i for p in parts for i in _ids(p)) == list(range(100))
    eq = rd.range(100, override_num_blocks=7).split(3, equal=True)
    assert [p.count() for p in eq] == [33, 33, 33]


def test_split_at_indices_and_proportionately():
    a, b, c = rd.range(10, override_num_blocks=3).split_at_indices([2, 5])
    assert (_ids(a), _ids(b), _ids(c)) == ([0, 1], [2, 3, 4], [5, 6, 7, 8, 9])
    x, y, z = rd.range(10).split_proportionately([0.2, 0.5])
    assert [x.count(), y.count(), z.count()] == [2, 5, 3]


def test_train_test_split():
    train, test = rd.range(10).train_test_split(test_size=0.3)
    assert (_ids(train), _ids(test)) == (list(range(7)), [7, 8, 9])
    train, test = rd.range(10).train_test_split(test_size=2, shuffle=True, seed=1)
    assert train.count() == 8 and test.count() == 2
    assert sorted(_ids(train) + _ids(test)) == list(range(10))


def _consume_concurrently(iterators):
    out = [None] * len(iterators)

    def run(i):
        out[i] = [r["id"] for r in iterators[i].iter_rows()]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(iterators))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_streaming_split_covers_each_row_once():
    its = rd.range(1000, override_num_blocks=20).streaming_split(3)
    parts = _consume_concurrently(its)
    assert sorted(i for p in parts for i in p) == list(range(1000))


def test_streaming_split_equal_and_epochs():
    its = rd.range(1001, override_num_blocks=9).streaming_split(2, equal=True)
    for _ in range(2):  # two epochs, each a fresh execution
        parts = _consume_concurrently(its)
        assert len(parts[0]) == len(parts[1]) == 500
        assert len(set(parts[0]) | set(parts[1])) == 1000


def test_streaming_split_consumed_from_actors():
    @ember.remote
    class Trainer:
        def total(self, it):
            return sum(int(b["id"].sum()) for b in it.iter_batches(batch_size=64))

    its = rd.range(500).streaming_split(2, equal=True)
    workers = [Trainer.remote() for _ in range(2)]
    totals = ember.get([w.total.remote(it) for w, it in zip(workers, its, strict=True)])
    assert sum(totals) == sum(range(500))
