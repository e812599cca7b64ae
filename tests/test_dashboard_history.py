"""The compact history of finished tasks behind the state API: a ring, filtered on columns."""

from __future__ import annotations

from ember._core.common.ids import TASK_ID_SIZE
from ember._core.node.task_history import TaskHistory

RES = {"CPU": 1.0}


def _fill(h: TaskHistory, n: int) -> None:
    for i in range(n):
        h.add(i.to_bytes(TASK_ID_SIZE, "big"), "even" if i % 2 == 0 else "odd",
              "FINISHED" if i % 5 else "FAILED", "NORMAL_TASK", None, RES,
              float(i), i + 0.25, i + 0.5, 1000 + i % 3)


def test_a_full_history_keeps_the_newest_rows_oldest_first():
    h = TaskHistory("node", cap=10)
    _fill(h, 25)
    total, rows = h.page([], 0, 100)
    assert total == 10 and len(h) == 10 and h.dropped == 15
    assert [r["creation_time_ms"] for r in rows] == [i * 1000 for i in range(15, 25)]
    assert rows[0]["start_time_ms"] == 15250 and rows[0]["end_time_ms"] == 15500
    assert h.page([], 8, 5)[1][0]["creation_time_ms"] == 23000


def test_filters_count_every_match_and_page_in_order():
    h = TaskHistory("node", cap=100)
    _fill(h, 40)
    total, rows = h.page([("name", "=", "odd"), ("state", "!=", "FAILED")], 2, 3)
    expected = [i for i in range(40) if i % 2 and i % 5]
    assert total == len(expected)
    assert [r["creation_time_ms"] // 1000 for r in rows] == expected[2:5]
    assert h.page([("pid", "=", "1001")], 0, 100)[0] == len([i for i in range(40)
                                                             if i % 3 == 1])
    tid = (7).to_bytes(TASK_ID_SIZE, "big").hex()
    assert [r["task_id"] for r in h.page([("task_id", "=", tid)], 0, 5)[1]] == [tid]
    zero = bytes(TASK_ID_SIZE).hex()  # trailing NUL bytes are part of the id
    assert h.page([("task_id", "=", zero)], 0, 5)[0] == 1
    assert h.page([("node_id", "=", "other")], 0, 5)[0] == 0
    assert h.page([("required_resources", "=", str(RES))], 0, 1)[0] == 40  # slow path
    assert h.counts() == {("even", "FAILED"): 4, ("even", "FINISHED"): 16,
                          ("odd", "FAILED"): 4, ("odd", "FINISHED"): 16}


def test_rows_cost_tens_of_bytes():
    h = TaskHistory("node", cap=10_000)
    _fill(h, 10_000)
    assert h.memory_bytes() / 10_000 <= 64
