"""JobSubmissionClient: Ray's job SDK over the dashboard's Jobs REST API, with the token."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import AsyncIterator
from fnmatch import fnmatch
from typing import Any

from ember.job_submission.models import JobInfo, JobStatus

_PAGE = 1000


def _local_cluster() -> dict | None:
    from ember._cluster.connect import read_cluster

    try:
        return read_cluster("auto")
    except ConnectionError:
        return None


def _embedded() -> dict | None:
    from ember._core.caller import context

    session = context.session
    return session.info if session is not None else None


def resolve(address: str | None) -> tuple[str, str | None]:
    """(dashboard URL, token or None) for `address`: an http(s) URL or host:port, else
    (None or "auto") EMBER_ADDRESS/RAY_ADDRESS if they hold a URL, the cluster started on
    this machine, or this process's embedded cluster. The token comes from
    EMBER_CLUSTER_TOKEN or the token file of the cluster found."""
    token = os.environ.get("EMBER_CLUSTER_TOKEN")
    if address in (None, "", "auto"):
        env = os.environ.get("EMBER_ADDRESS") or os.environ.get("RAY_ADDRESS") or ""
        address = env if env.startswith(("http://", "https://")) else None
    local = _local_cluster()
    embedded = _embedded()
    if address is None:
        found: str
        if local is not None and local.get("dashboard_url"):
            found = local["dashboard_url"]
        elif embedded is not None and embedded.get("dashboard_url"):
            found = embedded["dashboard_url"]
        else:
            found = "http://127.0.0.1:8265"
        address = found
    if "://" not in address:
        address = f"http://{address}"
    address = address.rstrip("/")
    if token is None:
        if local is not None and local.get("dashboard_url") == address:
            with open(local["token_file"]) as f:
                token = f.read().strip()
        elif embedded is not None and embedded.get("dashboard_url") == address:
            with open(os.path.join(embedded["session_dir"], "token")) as f:
                token = f.read().strip()
    return address, token


def package_working_dir(path: str, excludes: list[str] | None = None,
                        prefix: str = "") -> tuple[str, bytes]:
    """(package name, zip bytes) of a directory, named by its content's hash as Ray's
    `gcs://_ray_pkg_<hash>.zip` URIs are; entries are put under `prefix/` if given (a
    module directory keeps its name)."""
    excludes = list(excludes or []) + ["__pycache__", ".git"]
    buf = io.BytesIO()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(path):
            rel_root = os.path.relpath(root, path)
            dirs[:] = sorted(d for d in dirs if not _excluded(os.path.join(rel_root, d),
                                                               excludes))
            for name in sorted(files):
                rel = os.path.normpath(os.path.join(rel_root, name))
                if _excluded(rel, excludes):
                    continue
                if prefix:
                    rel = f"{prefix}/{rel}"
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                digest.update(rel.encode() + b"\0" + data)
                info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (os.stat(os.path.join(root, name)).st_mode & 0o777) << 16
                zf.writestr(info, data, zipfile.ZIP_DEFLATED)
    return f"_ray_pkg_{digest.hexdigest()[:32]}.zip", buf.getvalue()


def _excluded(rel: str, patterns: list[str]) -> bool:
    rel = os.path.normpath(rel)
    parts = rel.split(os.sep)
    return any(fnmatch(rel, p) or any(fnmatch(part, p) for part in parts) for p in patterns)


class JobSubmissionClient:
    """Submit and manage jobs on a cluster's dashboard (default: this machine's cluster).

    Every request carries `Authorization: Bearer <cluster token>`; pass it in `headers`,
    in EMBER_CLUSTER_TOKEN, or let the client read the local cluster's token file.
    """

    def __init__(self, address: str | None = None, create_cluster_if_needed: bool = False,
                 cookies: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                 headers: dict[str, Any] | None = None, verify: Any = True) -> None:
        import httpx

        self._address, token = resolve(address)
        self._headers = dict(headers or {})
        if token and not any(k.lower() == "authorization" for k in self._headers):
            self._headers["Authorization"] = f"Bearer {token}"
        self._default_metadata = dict(metadata or {})
        self._verify = verify
        self._cookies = cookies
        self._http = httpx.Client(base_url=self._address, headers=self._headers,
                                  cookies=cookies, verify=verify, timeout=60)
        try:
            r = self._http.get("/api/version")
        except httpx.HTTPError as e:
            raise ConnectionError(f"Failed to connect to the dashboard at {self._address}: "
                                  f"{e}") from None
        self._check(r)

    def get_address(self) -> str:
        return self._address

    @staticmethod
    def _check(r: Any) -> Any:
        if r.status_code == 401:
            raise RuntimeError("The dashboard refused the cluster token (401): pass "
                               "headers={'Authorization': 'Bearer <token>'} or set "
                               "EMBER_CLUSTER_TOKEN.")
        if r.status_code != 200:
            try:
                message = r.json().get("error", r.text)
            except ValueError:
                message = r.text
            raise RuntimeError(f"Request failed with status code {r.status_code}: {message}")
        return r

    def _upload(self, path: str, excludes: list[str] | None, prefix: str = "") -> str:
        """Zip a local directory, upload it unless the head has it; its gcs:// URI."""
        name, data = package_working_dir(path, excludes, prefix)
        if self._http.get(f"/api/packages/gcs/{name}").status_code != 200:
            self._check(self._http.put(f"/api/packages/gcs/{name}", content=data))
        return f"gcs://{name}"

    def _upload_working_dir(self, runtime_env: dict) -> dict:
        """Local working_dir and py_modules directories become uploaded packages."""
        out = dict(runtime_env)
        wd = runtime_env.get("working_dir")
        if wd and "://" not in str(wd):
            if not os.path.isdir(wd):
                raise ValueError(f"working_dir {wd!r} is not a directory")
            out["working_dir"] = self._upload(wd, runtime_env.get("excludes"))
        mods = []
        for m in runtime_env.get("py_modules") or []:
            if isinstance(m, str) and "://" not in m and os.path.isdir(m):
                path = os.path.abspath(m)
                m = self._upload(path, runtime_env.get("excludes"), os.path.basename(path))
            mods.append(m)
        if mods:
            out["py_modules"] = mods
        return out

    def submit_job(self, *, entrypoint: str, job_id: str | None = None,
                   runtime_env: dict[str, Any] | None = None,
                   metadata: dict[str, str] | None = None, submission_id: str | None = None,
                   entrypoint_num_cpus: float | None = None,
                   entrypoint_num_gpus: float | None = None,
                   entrypoint_memory: int | None = None,
                   entrypoint_resources: dict[str, float] | None = None) -> str:
        """Start `entrypoint` (a shell command) as a job's driver; returns its id. A local
        working_dir is zipped and uploaded first."""
        runtime_env = self._upload_working_dir(dict(runtime_env or {}))
        body = {"entrypoint": entrypoint, "submission_id": submission_id or job_id,
                "runtime_env": runtime_env,
                "metadata": {**self._default_metadata, **(metadata or {})},
                "entrypoint_num_cpus": entrypoint_num_cpus,
                "entrypoint_num_gpus": entrypoint_num_gpus,
                "entrypoint_memory": entrypoint_memory,
                "entrypoint_resources": entrypoint_resources}
        r = self._check(self._http.post("/api/jobs/", json=body))
        return r.json()["submission_id"]

    def stop_job(self, job_id: str) -> bool:
        """Stop the job (its whole process group); False if it was not running."""
        return self._check(self._http.post(f"/api/jobs/{job_id}/stop")).json()["stopped"]

    def delete_job(self, job_id: str) -> bool:
        """Forget a finished job: its record, logs and working directory."""
        return self._check(self._http.delete(f"/api/jobs/{job_id}")).json()["deleted"]

    def get_job_info(self, job_id: str) -> JobInfo:
        return JobInfo.from_json(self._check(self._http.get(f"/api/jobs/{job_id}")).json())

    def list_jobs(self) -> list[JobInfo]:
        """Every job, oldest first (read page by page)."""
        out: list[JobInfo] = []
        while True:
            r = self._check(self._http.get("/api/jobs/", params={"offset": len(out),
                                                                 "limit": _PAGE}))
            page = r.json()
            out += [JobInfo.from_json(j) for j in page]
            if not page or len(out) >= int(r.headers.get("X-Total-Count", len(out))):
                return out

    def get_job_status(self, job_id: str) -> JobStatus:
        return self.get_job_info(job_id).status

    def get_job_logs(self, job_id: str) -> str:
        return self._check(self._http.get(f"/api/jobs/{job_id}/logs")).json()["logs"]

    async def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """The job's logs as they are written, until the job ends: the text messages of
        the dashboard's WebSocket `/api/jobs/{id}/logs/tail`, as Ray's client reads it."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosedOK, InvalidStatus

        url = "ws" + self._address[len("http"):] + f"/api/jobs/{job_id}/logs/tail"
        ssl = _ssl_context(self._verify) if url.startswith("wss://") else None
        headers = dict(self._headers)
        if self._cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
        try:
            async with connect(url, additional_headers=headers, ssl=ssl, max_size=8 << 20,
                               compression=None, open_timeout=60) as ws:
                while True:
                    try:
                        message = await ws.recv()
                    except ConnectionClosedOK:
                        return
                    yield message if isinstance(message, str) else message.decode(
                        "utf-8", "replace")
        except InvalidStatus as e:
            self._check(_Refused(e.response))

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"JobSubmissionClient({json.dumps(self._address)})"


class _Refused:
    """A refused WebSocket upgrade, read as the HTTP answer it was."""

    def __init__(self, response: Any) -> None:
        self.status_code = response.status_code
        self.text = bytes(response.body or b"").decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.text)


def _ssl_context(verify: Any) -> Any:
    """The TLS context for `verify` as httpx reads it: True, False, a CA file or a
    context."""
    import ssl

    if isinstance(verify, ssl.SSLContext):
        return verify
    ctx = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


__all__ = ["JobSubmissionClient", "package_working_dir", "resolve"]
