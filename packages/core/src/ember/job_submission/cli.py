"""`ember job submit|status|logs|stop|list|delete` and `ember logs`, over the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import shlex
import sys
from typing import Any

from ember.job_submission.models import JobStatus


def add_parsers(sub: Any) -> None:
    """Add the `job` and `logs` commands to the `ember` parser's subcommands."""
    job = sub.add_parser("job", help="submit and manage jobs (Ray's `ray job`)")
    jobs = job.add_subparsers(dest="job_command", required=True)
    submit = jobs.add_parser("submit", help="run a command as a job on the cluster")
    _address(submit)
    submit.add_argument("--submission-id", "--job-id", dest="submission_id", default=None)
    submit.add_argument("--working-dir", default=None, help="uploaded; the job's cwd")
    submit.add_argument("--runtime-env-json", default=None, help="a runtime_env as JSON")
    submit.add_argument("--metadata-json", default=None)
    submit.add_argument("--entrypoint-num-cpus", type=float, default=None)
    submit.add_argument("--entrypoint-num-gpus", type=float, default=None)
    submit.add_argument("--entrypoint-memory", type=int, default=None,
                        help="bytes of memory held for the job's driver")
    submit.add_argument("--entrypoint-resources", default=None,
                        help='custom resources held for the driver, as JSON: \'{"slot": 1}\'')
    submit.add_argument("--no-wait", action="store_true", help="do not follow its logs")
    submit.add_argument("entrypoint", nargs=argparse.REMAINDER,
                        help="the command, after `--`")
    for name, text in (("status", "a job's status"), ("stop", "stop a job"),
                       ("delete", "forget a finished job")):
        p = jobs.add_parser(name, help=text)
        _address(p)
        p.add_argument("job_id")
    logs = jobs.add_parser("logs", help="a job's output")
    _address(logs)
    logs.add_argument("job_id")
    logs.add_argument("-f", "--follow", action="store_true")
    lst = jobs.add_parser("list", help="every job")
    _address(lst)
    lg = sub.add_parser("logs", help="list the cluster's log files, or print one")
    _address(lg)
    lg.add_argument("glob", nargs="?", default=None, help="a file name or pattern")
    lg.add_argument("--tail", type=int, default=None, help="only the last N lines")


def _address(p: Any) -> None:
    p.add_argument("--address", default=None,
                   help="the dashboard (default: this machine's cluster, or EMBER_ADDRESS)")


def _client(args: Any) -> Any:
    from ember.job_submission.sdk import JobSubmissionClient

    return JobSubmissionClient(args.address)


def _follow(client: Any, job_id: str) -> None:
    async def run() -> None:
        async for text in client.tail_job_logs(job_id):
            sys.stdout.write(text)
            sys.stdout.flush()

    asyncio.run(run())


def job_main(args: Any) -> int:
    try:
        client = _client(args)
    except (ConnectionError, RuntimeError) as e:
        print(e, file=sys.stderr)
        return 1
    cmd = args.job_command
    try:
        if cmd == "submit":
            return _submit(client, args)
        if cmd == "status":
            info = client.get_job_info(args.job_id)
            print(f"Status for job '{args.job_id}': {info.status.value}")
            if info.message:
                print(f"Status message: {info.message}")
            return 0
        if cmd == "logs":
            if args.follow:
                _follow(client, args.job_id)
            else:
                sys.stdout.write(client.get_job_logs(args.job_id))
            return 0
        if cmd == "stop":
            stopped = client.stop_job(args.job_id)
            print(f"Job '{args.job_id}' " + ("was asked to stop." if stopped
                                             else "was not running."))
            return 0
        if cmd == "delete":
            client.delete_job(args.job_id)
            print(f"Job '{args.job_id}' deleted.")
            return 0
        if cmd == "list":
            for info in client.list_jobs():
                print(f"{info.submission_id}  {info.status.value:9}  {info.entrypoint}")
            return 0
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 2


def _submit(client: Any, args: Any) -> int:
    words = list(args.entrypoint)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        print("ember job submit needs a command: ember job submit -- python script.py",
              file=sys.stderr)
        return 2
    runtime_env = json.loads(args.runtime_env_json) if args.runtime_env_json else {}
    if args.working_dir:
        runtime_env["working_dir"] = args.working_dir
    metadata = json.loads(args.metadata_json) if args.metadata_json else None
    entrypoint = " ".join(words) if len(words) == 1 else shlex.join(words)
    sid = client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env or None,
                            submission_id=args.submission_id, metadata=metadata,
                            entrypoint_num_cpus=args.entrypoint_num_cpus,
                            entrypoint_num_gpus=args.entrypoint_num_gpus,
                            entrypoint_memory=args.entrypoint_memory,
                            entrypoint_resources=json.loads(args.entrypoint_resources)
                            if args.entrypoint_resources else None)
    print(f"Job '{sid}' submitted successfully")
    if args.no_wait:
        print(f"Query the status of the job: ember job status {sid}\n"
              f"Request the job to be stopped: ember job stop {sid}\n"
              f"Tail the logs of the job: ember job logs {sid} --follow")
        return 0
    _follow(client, sid)
    status = client.get_job_status(sid)
    print(f"Job '{sid}' {status.value.lower()}")
    return 0 if status == JobStatus.SUCCEEDED else 1


def logs_main(args: Any) -> int:
    """`ember logs`: the list of log files, or the one file the name/pattern matches."""
    import httpx

    from ember.job_submission.sdk import resolve

    address, token = resolve(args.address)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=address, headers=headers, timeout=60) as http:
        r = http.get("/api/v0/logs")
        if r.status_code != 200:
            print(f"The dashboard answered {r.status_code}: {r.text}", file=sys.stderr)
            return 1
        files = [(node, f) for node, fs in r.json()["data"]["result"].items() for f in fs]
        pattern = args.glob or "*"
        chosen = [(n, f) for n, f in files if fnmatch.fnmatch(f["filename"], pattern)]
        if args.glob is None or len(chosen) != 1:
            for node, f in chosen:
                print(f"{node[:12]}  {f['size']:>10}  {f['filename']}")
            return 0 if chosen else 1
        params: dict[str, Any] = {"filename": chosen[0][1]["filename"]}
        if args.tail is not None:
            params["lines"] = args.tail
        r = http.get("/api/v0/logs/file", params=params)
        sys.stdout.write(r.text)
        return 0 if r.status_code == 200 else 1


__all__ = ["add_parsers", "job_main", "logs_main"]
