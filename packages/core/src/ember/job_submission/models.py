"""JobStatus and JobInfo: what the Jobs API says about a submitted job (Ray's shapes)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class JobStatus(enum.StrEnum):
    """A submitted job's state. PENDING until its driver starts; then RUNNING; then one of
    the terminal states STOPPED (stop_job), SUCCEEDED (exit code 0) or FAILED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    def is_terminal(self) -> bool:
        """True once the job will not change state any more."""
        return self in (JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclasses.dataclass
class JobInfo:
    """Everything recorded about a job; times are milliseconds since the epoch."""

    status: JobStatus
    entrypoint: str
    submission_id: str | None = None
    job_id: str | None = None
    type: str = "SUBMISSION"
    message: str | None = None
    error_type: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    metadata: dict[str, str] | None = None
    runtime_env: dict[str, Any] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] | None = None
    driver_agent_http_address: str | None = None
    driver_node_id: str | None = None
    driver_exit_code: int | None = None
    driver_pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object the REST API sends (status as its name)."""
        out = {f.name: getattr(self, f.name) for f in _FIELDS}
        out["status"] = self.status.value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobInfo:
        """Read what to_json wrote (unknown keys, e.g. from a newer server, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["status"] = JobStatus(kwargs["status"])
        return cls(**kwargs)


_FIELDS = dataclasses.fields(JobInfo)

# Ray's REST API calls the same record JobDetails.
JobDetails = JobInfo

__all__ = ["JobDetails", "JobInfo", "JobStatus"]
