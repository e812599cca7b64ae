"""Submit jobs to a cluster through its dashboard's Jobs REST API (Ray's
`ray.job_submission`): JobSubmissionClient, JobStatus, JobInfo."""

from ember.job_submission.models import JobDetails, JobInfo, JobStatus
from ember.job_submission.sdk import JobSubmissionClient

__all__ = ["JobDetails", "JobInfo", "JobStatus", "JobSubmissionClient"]
