"""`ember list|summary|memory|timeline`: read the running cluster through an attached driver."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_COLUMNS = {
    "nodes": ["NodeID", "state", "NodeManagerAddress", "Resources"],
    "actors": ["actor_id", "class_name", "state", "name", "namespace", "pid", "num_restarts"],
    "tasks": ["task_id", "name", "state", "type", "worker_pid"],
    "objects": ["object_id", "object_size", "reference_count", "state", "in_store"],
    "jobs": ["job_id", "status", "driver_pid"],
    "placement_groups": ["placement_group_id", "name", "strategy", "state"],
    "workers": ["worker_id", "pid", "state"],
}


def _attach() -> Any:
    import ember

    try:
        ember.init(address="auto", log_to_driver=False)
    except ConnectionError as e:
        print(str(e), file=sys.stderr)
        return None
    return ember


def _table(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> str:
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def list_rows(args: Any) -> int:
    """`ember list KIND`: a table (or JSON) of the cluster's entities of one kind."""
    ember = _attach()
    if ember is None:
        return 1
    from ember.util import state

    kind = args.kind.replace("-", "_")
    rows = getattr(state, f"list_{kind}")()
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(_table(rows, _COLUMNS[kind]))
        print(f"\n{len(rows)} {args.kind}")
    ember.shutdown()
    return 0


def summary(args: Any) -> int:
    """`ember summary`: task counts per name and state."""
    ember = _attach()
    if ember is None:
        return 1
    from ember.util import state

    rows = []
    for name, info in state.summarize_tasks()["cluster"]["summary"].items():
        rows.append({"name": name, **{k: v for k, v in info["state_counts"].items()}})
    states = sorted({k for r in rows for k in r if k != "name"})
    print(_table(rows, ["name", *states]))
    ember.shutdown()
    return 0


def memory(args: Any) -> int:
    """`ember memory`: the referenced objects and the object store's use."""
    ember = _attach()
    if ember is None:
        return 1
    from ember.util import state

    objects = sorted(state.list_objects(), key=lambda o: -o["object_size"])
    store = state._rows("store", None, 1)[0]
    print(_table(objects, _COLUMNS["objects"]))
    total = sum(o["object_size"] for o in objects)
    print(f"\n{len(objects)} objects, {total / 2**20:.1f} MiB referenced; store: "
          f"{store.get('used_bytes', 0) / 2**20:.1f} MiB used of "
          f"{store.get('capacity', 0) / 2**20:.0f} MiB, "
          f"{store.get('spilled_bytes_current', 0) / 2**20:.1f} MiB spilled")
    ember.shutdown()
    return 0


def timeline(args: Any) -> int:
    """`ember timeline`: write the task timeline as a Chrome trace."""
    ember = _attach()
    if ember is None:
        return 1
    events = ember.timeline(args.output)
    print(f"Wrote {len(events)} events to {args.output} (open it in Perfetto or "
          "chrome://tracing).")
    ember.shutdown()
    return 0


COMMANDS: dict[str, Callable[[Any], int]] = {
    "list": list_rows, "memory": memory, "summary": summary, "timeline": timeline,
}
