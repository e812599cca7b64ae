"""`ray._private.state` for Ray's tests: only `jobs()`, the job table as those tests read
it, is real (a thin wrapper over ember's public `ember.util.state.list_jobs`); every
other name is a Ray-internal stand-in that raises when used."""

from __future__ import annotations

from _ray_compat.internal import module_getattr

__all__ = ["jobs"]


def jobs() -> list[dict]:
    """One dict per driver of the cluster with Ray's keys (JobID, IsDead, DriverPid,
    StartTime, EndTime)."""
    from ember.util.state import list_jobs

    return [{"JobID": r["job_id"], "IsDead": bool(r.get("is_dead")),
             "DriverPid": r.get("driver_pid"), "StartTime": r.get("start_time"),
             "EndTime": r.get("end_time")}
            for r in list_jobs(filters=[("type", "=", "DRIVER")])]


__getattr__ = module_getattr("ray._private.state")
