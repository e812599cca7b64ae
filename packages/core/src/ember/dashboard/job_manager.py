"""Submitted jobs: each runs as a supervised driver process on the head.

A job's entrypoint is a shell command, started in a process group of its own with its
runtime_env (working directory, environment variables) and the cluster's address in its
environment, so `ember.init()` inside it attaches to this cluster. A thread per job waits
for it and records how it ended. Records are kept in a JobStore: the control store's
key-value table on a head (so they survive a head restart), a dict otherwise. Stopping a
job signals its whole process group: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import subprocess

# json, shutil, subprocess and zipfile are imported where used: an embedded cluster
# builds a JobManager at init and may never run a job.

from ember.job_submission.models import JobInfo, JobStatus

_STOP_GRACE_S = 3.0
_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_PACKAGE = re.compile(r"^_ray_pkg_[0-9a-f]{8,64}\.zip$")


class JobStore(Protocol):
    def put(self, info: JobInfo) -> None: ...
    def get(self, submission_id: str) -> JobInfo | None: ...
    def all(self) -> list[JobInfo]: ...
    def delete(self, submission_id: str) -> None: ...


class MemoryJobStore:
    """Job records of a cluster without a control store (an embedded `ember.init()`)."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobInfo] = {}

    def put(self, info: JobInfo) -> None:
        self._jobs[info.submission_id or ""] = info

    def get(self, submission_id: str) -> JobInfo | None:
        return self._jobs.get(submission_id)

    def all(self) -> list[JobInfo]:
        return list(self._jobs.values())

    def delete(self, submission_id: str) -> None:
        self._jobs.pop(submission_id, None)


class GcsJobStore:
    """Job records in the control store's key-value table (namespace "job_submission")."""

    NS = "job_submission"

    def __init__(self, gcs: Any) -> None:
        self.gcs = gcs

    def put(self, info: JobInfo) -> None:
        import json

        self.gcs.kv_put(str(info.submission_id).encode(), json.dumps(info.to_json()).encode(),
                        True, self.NS)

    def get(self, submission_id: str) -> JobInfo | None:
        import json

        raw = self.gcs.kv_get(submission_id.encode(), self.NS)
        return JobInfo.from_json(json.loads(raw)) if raw else None

    def all(self) -> list[JobInfo]:
        return [j for j in (self.get(k.decode()) for k in self.gcs.kv_keys(b"", self.NS)) if j]

    def delete(self, submission_id: str) -> None:
        self.gcs.kv_del(submission_id.encode(), False, self.NS)


class JobError(Exception):
    """A request the Jobs API refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now_ms() -> int:
    return int(time.time() * 1000)


class JobManager:
    """Starts, watches, stops and forgets jobs; one per dashboard."""

    def __init__(self, store: JobStore, work_dir: str, driver_env: dict[str, str],
                 node_id: str, prepare: Callable[[], None] | None = None) -> None:
        self.store = store
        self.work_dir = work_dir
        self.logs_dir = os.path.join(work_dir, "logs")
        self.packages_dir = os.path.join(work_dir, "packages")
        for d in (self.logs_dir, self.packages_dir):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.driver_env = driver_env
        self.node_id = node_id
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen] = {}
        self._stopping: set[str] = set()
        self._jobs: dict[str, JobInfo] = {}  # every record, as stored
        self._prepare = prepare  # run once before the first job starts
        self._recover()

    def _recover(self) -> None:
        """Load the records; jobs recorded as running by a head that is gone did not
        survive it. Reads are served from memory from then on (writes go through)."""
        for info in self.store.all():
            self._jobs[str(info.submission_id)] = info
            if not info.status.is_terminal():
                info.status = JobStatus.FAILED
                info.message = "The head node restarted while the job was running."
                info.error_type = "JOB_SUPERVISOR_ACTOR_DIED"
                info.end_time = info.end_time or _now_ms()
                self.store.put(info)

    # -- packages -----------------------------------------------------------------------

    def package_path(self, name: str) -> str:
        if not _PACKAGE.match(name):
            raise JobError(400, f"bad package name {name!r} (expected _ray_pkg_<hex>.zip)")
        return os.path.join(self.packages_dir, name)

    def _working_dir(self, submission_id: str, uri: str, part: str = "") -> str:
        """The directory a working_dir URI names, unpacked for this job (under `part`)."""
        if not uri.startswith("gcs://"):
            if not os.path.isdir(uri):
                raise JobError(400, f"{uri!r} is not a directory on the head")
            return uri
        zip_path = self.package_path(uri[len("gcs://"):])
        if not os.path.exists(zip_path):
            raise JobError(400, f"package {uri} was not uploaded")
        import zipfile

        dest = os.path.join(self.work_dir, "working_dirs", submission_id, part)
        os.makedirs(dest, mode=0o700, exist_ok=True)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(dest)  # zipfile drops absolute paths and ".." parts
        return dest

    def _py_module(self, submission_id: str, uri: str, i: int) -> str:
        """A py_modules package unpacked: the module directory it holds."""
        dest = self._working_dir(submission_id, uri, f"_py_modules/{i}")
        entries = os.listdir(dest)
        if len(entries) != 1 or not os.path.isdir(os.path.join(dest, entries[0])):
            raise JobError(400, f"py_modules package {uri} must hold one directory")
        return os.path.join(dest, entries[0])

    # -- jobs ---------------------------------------------------------------------------

    def submit(self, entrypoint: str, submission_id: str | None = None,
               runtime_env: dict | None = None, metadata: dict | None = None,
               **resources: Any) -> str:
        if not isinstance(entrypoint, str) or not entrypoint.strip():
            raise JobError(400, "entrypoint must be a non-empty shell command")
        sid = submission_id or f"raysubmit_{os.urandom(8).hex()}"
        if not _ID.match(sid):
            raise JobError(400, f"bad submission_id {sid!r}")
        runtime_env = dict(runtime_env or {})
        with self._lock:
            if sid in self._jobs:
                raise JobError(400, f"Job with submission_id {sid} already exists.")
            info = JobInfo(status=JobStatus.PENDING, entrypoint=entrypoint, submission_id=sid,
                           job_id=sid, start_time=_now_ms(), metadata=metadata or {},
                           runtime_env=runtime_env, driver_node_id=self.node_id,
                           **{k: v for k, v in resources.items() if v is not None})
            self._jobs[sid] = info
            self.store.put(info)
        try:
            with self._lock:
                prepare, self._prepare = self._prepare, None
            if prepare is not None:
                prepare()
            proc = self._start(info, runtime_env)
        except JobError as e:
            self._finish(info, JobStatus.FAILED, str(e), "RUNTIME_ENV_SETUP_FAILED")
            raise
        except OSError as e:
            self._finish(info, JobStatus.FAILED, f"could not start the driver: {e}",
                         "JOB_ENTRYPOINT_COMMAND_START_ERROR")
            return sid
        threading.Thread(target=self._watch, args=(info, proc), daemon=True,
                         name=f"ember-job-{sid}").start()
        return sid

    def _start(self, info: JobInfo, runtime_env: dict) -> subprocess.Popen:
        import json

        sid = str(info.submission_id)
        job_env = dict(self.driver_env)
        job_env.update({str(k): str(v)
                        for k, v in (runtime_env.get("env_vars") or {}).items()})
        cwd = None
        paths = []
        if runtime_env.get("working_dir"):
            cwd = self._working_dir(sid, str(runtime_env["working_dir"]))
            runtime_env = {**runtime_env, "working_dir": cwd}
            paths.append(cwd)
        if runtime_env.get("py_modules"):
            mods = [self._py_module(sid, m, i) if isinstance(m, str) and
                    m.startswith("gcs://") else m
                    for i, m in enumerate(runtime_env["py_modules"])]
            runtime_env = {**runtime_env, "py_modules": mods}
            paths += [os.path.dirname(m) for m in mods if isinstance(m, str)]
        if paths:
            job_env["PYTHONPATH"] = os.pathsep.join(
                p for p in (*paths, os.environ.get("PYTHONPATH")) if p)
        job_env.update({"EMBER_JOB_SUBMISSION_ID": sid, "RAY_JOB_SUBMISSION_ID": sid,
                        "EMBER_JOB_RUNTIME_ENV": json.dumps(runtime_env),
                        "PYTHONUNBUFFERED": "1"})
        reserved = _reservation(info)
        if reserved is None:
            return self._popen(info, info.entrypoint, {**os.environ, **job_env}, cwd, None)
        # A supervisor actor holds the resources and runs the driver where it is placed;
        # it reports where on `status` once it is (until then the job is PENDING).
        from ember.dashboard import job_supervisor

        status_r, status_w = os.pipe()
        spec = {**reserved, "entrypoint": info.entrypoint, "env": job_env, "cwd": cwd,
                "status_fd": status_w}
        env = {**os.environ, **self.driver_env, job_supervisor.SPEC_ENV: json.dumps(spec)}
        info.message = ("Job has not started yet. It may be waiting for resources (CPUs, "
                        "GPUs, memory, custom resources) to become available.")
        try:
            return self._popen(info, [sys.executable, "-m", "ember.dashboard.job_supervisor"],
                               env, None, (status_r, status_w))
        finally:
            os.close(status_w)

    def _popen(self, info: JobInfo, command: str | list[str], env: dict[str, str],
               cwd: str | None, status: tuple[int, int] | None) -> subprocess.Popen:
        """Start the job's process group, its output to the job's log. Without a status
        pipe the driver runs at once (RUNNING); with one it is PENDING until the
        supervisor writes where the driver runs."""
        import subprocess

        sid = str(info.submission_id)
        try:
            with open(self.log_path(sid), "ab") as log:
                proc = subprocess.Popen(command, shell=isinstance(command, str), cwd=cwd,
                                        env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        pass_fds=status[1:] if status else ())
        except BaseException:
            if status is not None:
                os.close(status[0])
            raise
        with self._lock:
            self._procs[sid] = proc
            if status is None:
                info.status = JobStatus.RUNNING
                info.driver_pid = proc.pid
            if sid not in self._stopping:
                self.store.put(info)
        if status is not None:
            threading.Thread(target=self._await_running, args=(info, status[0]), daemon=True,
                             name=f"ember-job-status-{sid}").start()
        return proc

    def _await_running(self, info: JobInfo, fd: int) -> None:
        """The supervisor's line once its actor holds the resources and started the
        driver: the job is RUNNING on that node."""
        import json

        with os.fdopen(fd, "r") as status:
            line = status.readline()
        if not line:
            return  # the supervisor ended first: _watch records how
        where = json.loads(line)
        sid = str(info.submission_id)
        with self._lock:
            if info.status != JobStatus.PENDING:
                return
            info.status = JobStatus.RUNNING
            info.message = None
            info.driver_node_id = where.get("node_id") or info.driver_node_id
            info.driver_pid = where.get("pid")
            if sid not in self._stopping and sid in self._jobs:
                self.store.put(info)

    def _watch(self, info: JobInfo, proc: subprocess.Popen) -> None:
        code = proc.wait()
        sid = str(info.submission_id)
        with self._lock:
            self._procs.pop(sid, None)
            stopped = sid in self._stopping
            self._stopping.discard(sid)
        info.driver_exit_code = code
        if stopped:
            self._finish(info, JobStatus.STOPPED, "Job was intentionally stopped.", None)
        elif code == 0:
            self._finish(info, JobStatus.SUCCEEDED, "Job finished successfully.", None)
        else:
            self._finish(info, JobStatus.FAILED,
                         f"Job entrypoint command failed with exit code {code}.",
                         "JOB_ENTRYPOINT_COMMAND_ERROR")

    def _finish(self, info: JobInfo, status: JobStatus, message: str,
                error_type: str | None) -> None:
        with self._lock:
            info.status = status
            info.message = message
            info.error_type = error_type
            info.end_time = _now_ms()
            if str(info.submission_id) in self._jobs:  # not deleted meanwhile
                self.store.put(info)

    def get(self, submission_id: str) -> JobInfo:
        info = self._jobs.get(submission_id)
        if info is None:
            raise JobError(404, f"Job {submission_id} does not exist.")
        return info

    def list(self) -> list[JobInfo]:
        """Every job, oldest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        return sorted(jobs, key=lambda j: (j.start_time or 0, j.submission_id))

    def stop(self, submission_id: str) -> bool:
        """Signal the job's process group; True if it was running."""
        info = self.get(submission_id)
        with self._lock:
            proc = self._procs.get(submission_id)
            if proc is None or info.status.is_terminal():
                return False
            self._stopping.add(submission_id)
        _kill_group(proc)
        return True

    def delete(self, submission_id: str) -> bool:
        info = self.get(submission_id)
        if not info.status.is_terminal():
            raise JobError(400, f"Job {submission_id} is {info.status.value}; stop it "
                                "before deleting it.")
        with self._lock:
            self._jobs.pop(submission_id, None)
            self.store.delete(submission_id)
        for path in (self.log_path(submission_id),):
            try:
                os.remove(path)
            except OSError:
                pass
        import shutil

        shutil.rmtree(os.path.join(self.work_dir, "working_dirs", submission_id),
                      ignore_errors=True)
        return True

    def log_path(self, submission_id: str) -> str:
        return os.path.join(self.logs_dir, f"job-driver-{submission_id}.log")

    def logs(self, submission_id: str) -> str:
        self.get(submission_id)
        try:
            with open(self.log_path(submission_id), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Stop every running job (the head is going away) and wait for them."""
        with self._lock:
            procs = dict(self._procs)
            self._stopping.update(procs)
        threads = [threading.Thread(target=_kill_group, args=(p,)) for p in procs.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _reservation(info: JobInfo) -> dict[str, Any] | None:
    """The supervisor actor's resources, or None if the job asks for none."""
    out = {"num_cpus": info.entrypoint_num_cpus, "num_gpus": info.entrypoint_num_gpus,
           "memory": info.entrypoint_memory,
           "resources": {k: v for k, v in (info.entrypoint_resources or {}).items() if v}}
    out = {k: v for k, v in out.items() if v}
    return out or None


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it after the grace period (both if needed)."""
    import subprocess
    for sig, wait in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; other members of its group may linger (a child that
        # ignores SIGTERM): they get SIGKILL.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


__all__ = ["GcsJobStore", "JobError", "JobManager", "JobStore", "MemoryJobStore"]
