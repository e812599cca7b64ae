"""Submit jobs to a cluster through its dashboard's Jobs REST API (Ray's
`ray.job_submission`): JobSubmissionClient, JobStatus, JobInfo."""

from typing import TYPE_CHECKING, Any

from ember.job_submission.models import JobDetails, JobInfo, JobStatus

if TYPE_CHECKING:
    from ember.job_submission.sdk import JobSubmissionClient

__all__ = ["JobDetails", "JobInfo", "JobStatus", "JobSubmissionClient"]


def __getattr__(name: str) -> Any:
    if name == "JobSubmissionClient":  # loaded on use: the head imports this package too
        from ember.job_submission.sdk import JobSubmissionClient

        return JobSubmissionClient
    raise AttributeError(f"module 'ember.job_submission' has no attribute {name!r}")
