"""Ray's Jobs REST API (`/api/jobs/...`, `/api/packages/...`) over the job manager."""

from __future__ import annotations

import asyncio
import codecs
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from ember.dashboard.auth import BodyTooLarge
from ember.dashboard.backend import Backend
from ember.dashboard.job_manager import JobError, JobManager
from ember.dashboard.routes_state import BadQuery, page_params, paged
from ember.job_submission.models import JobInfo

_SUBMIT_KEYS = {"entrypoint", "submission_id", "job_id", "runtime_env", "metadata",
                "entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory",
                "entrypoint_resources"}
_TAIL_POLL_S = 0.2


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _jobs(backend: Backend) -> JobManager:
    if backend.jobs is None:
        raise JobError(503, "this node runs no jobs: submit them to the head's dashboard")
    return backend.jobs


def _field(job: JobInfo, key: str) -> Any:
    if key == "status":
        return job.status.value
    return getattr(job, key, None)


def _check_submission(body: dict) -> str:
    """What is wrong with a job request's field types ("" if nothing)."""
    if body.get("runtime_env") is not None and not isinstance(body["runtime_env"], dict):
        return "runtime_env must be a JSON object"
    meta = body.get("metadata")
    if meta is not None and not (isinstance(meta, dict) and
                                 all(isinstance(v, str) for v in meta.values())):
        return "metadata must map strings to strings"
    for key in ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory"):
        v = body.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or v < 0):
            return f"{key} must be a number >= 0"
    res = body.get("entrypoint_resources")
    if res is not None and not (isinstance(res, dict) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in res.values())):
        return "entrypoint_resources must map resource names to numbers"
    for key in ("submission_id", "job_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"{key} must be a string"
    return ""


def routes(backend: Backend) -> list[BaseRoute]:
    async def submit(request: Request) -> Response:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the body must be a JSON object")
        if not isinstance(body, dict) or set(body) - _SUBMIT_KEYS:
            extra = sorted(set(body) - _SUBMIT_KEYS) if isinstance(body, dict) else body
            return _error(400, f"unexpected fields in the job request: {extra}")
        problem = _check_submission(body)
        if problem:
            return _error(400, problem)
        sid = body.pop("submission_id", None) or body.pop("job_id", None)
        body.pop("job_id", None)
        try:
            sid = await asyncio.to_thread(lambda: _jobs(backend).submit(submission_id=sid,
                                                                         **body))
        except JobError as e:
            return _error(e.status, str(e))
        except TypeError as e:
            return _error(400, str(e))
        return JSONResponse({"submission_id": sid, "job_id": sid})

    def list_jobs(request: Request) -> Response:
        try:
            filters, offset, limit = page_params(request)
            jobs = _jobs(backend)
        except BadQuery as e:
            return _error(400, str(e))
        except JobError as e:
            return _error(e.status, str(e))
        # Filtered on the records' fields, so only the page is turned into JSON.
        page = paged(jobs.list(), filters, offset, limit, get=_field)
        rows = [j.to_json() for j in page["rows"]]
        # Ray's body (a JSON list), with the count of every match in a header.
        return Response(json.dumps(rows), media_type="application/json",
                        headers={"X-Total-Count": str(page["total"])})

    def one(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await asyncio.to_thread(handler, _jobs(backend),
                                               request.path_params["job_id"])
            except JobError as e:
                return _error(e.status, str(e))

        return endpoint

    def get_job(jobs: JobManager, sid: str) -> Response:
        return JSONResponse(jobs.get(sid).to_json())

    def logs(jobs: JobManager, sid: str) -> Response:
        return JSONResponse({"logs": jobs.logs(sid)})

    def stop(jobs: JobManager, sid: str) -> Response:
        return JSONResponse({"stopped": jobs.stop(sid)})

    def delete(jobs: JobManager, sid: str) -> Response:
        return JSONResponse({"deleted": jobs.delete(sid)})

    async def tail(request: Request) -> Response:
        sid = request.path_params["job_id"]
        try:
            jobs = _jobs(backend)
            await asyncio.to_thread(jobs.get, sid)
        except JobError as e:
            return _error(e.status, str(e))
        return StreamingResponse(_follow(jobs, sid), media_type="text/plain; charset=utf-8")

    async def tail_ws(websocket: WebSocket) -> None:
        """Ray's log tail: a WebSocket whose text messages are the log as it is written;
        closed (1000) once the job has ended and all of it was sent."""
        sid = websocket.path_params["job_id"]
        try:
            jobs = _jobs(backend)
            await asyncio.to_thread(jobs.get, sid)
        except JobError as e:
            await websocket.send_denial_response(_error(e.status, str(e)))
            return
        await websocket.accept()
        sender = asyncio.ensure_future(_send_log(websocket, jobs, sid))
        # Whatever the client sends is read and dropped (bounded by the server's message
        # size limit); its going away ends the tail at once, even on a quiet log.
        listener = asyncio.ensure_future(_until_disconnect(websocket))
        done, pending = await asyncio.wait({sender, listener},
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if sender in done and sender.exception() is None:
            await websocket.close()

    async def package(request: Request) -> Response:
        try:
            path = _jobs(backend).package_path(request.path_params["name"])
        except JobError as e:
            return _error(e.status, str(e))
        if request.path_params["protocol"] != "gcs":
            return _error(400, "only gcs:// packages are served")
        if request.method == "GET":
            return Response(status_code=200 if os.path.exists(path) else 404)
        tmp = f"{path}.{os.getpid()}.{id(request)}.part"
        try:
            with open(tmp, "wb") as f:
                async for chunk in request.stream():
                    await asyncio.to_thread(f.write, chunk)
        except BodyTooLarge as e:
            os.remove(tmp)
            return _error(413, f"package over {e.args[0]} bytes")
        except BaseException:
            os.remove(tmp)
            raise
        os.replace(tmp, path)
        return JSONResponse({"uploaded": True})

    return [
        Route("/api/jobs/", submit, methods=["POST"]),
        Route("/api/jobs/", list_jobs, methods=["GET"]),
        Route("/api/jobs/{job_id}", one(get_job), methods=["GET"]),
        Route("/api/jobs/{job_id}", one(delete), methods=["DELETE"]),
        Route("/api/jobs/{job_id}/logs", one(logs), methods=["GET"]),
        # Ray's clients tail over a WebSocket; a browser, which cannot put the token in a
        # WebSocket's headers, streams the same log as a plain GET.
        Route("/api/jobs/{job_id}/logs/tail", tail, methods=["GET"]),
        WebSocketRoute("/api/jobs/{job_id}/logs/tail", tail_ws),
        Route("/api/jobs/{job_id}/stop", one(stop), methods=["POST"]),
        Route("/api/packages/{protocol}/{name}", package, methods=["GET", "PUT"]),
    ]


async def _send_log(websocket: WebSocket, jobs: JobManager, sid: str) -> None:
    """The log as text messages, whole UTF-8 characters only."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    async for data in _follow(jobs, sid):
        text = decoder.decode(data)
        if text:
            await websocket.send_text(text)
    rest = decoder.decode(b"", final=True)
    if rest:
        await websocket.send_text(rest)


async def _until_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _follow(jobs: JobManager, sid: str) -> AsyncIterator[bytes]:
    """The job's log from the start, then what it appends, until it has ended."""
    path = jobs.log_path(sid)
    offset = 0
    while True:
        terminal = (await asyncio.to_thread(jobs.get, sid)).status.is_terminal()
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(1 << 20)
        except FileNotFoundError:
            data = b""
        if data:
            offset += len(data)
            yield data
            continue
        if terminal:
            return
        await asyncio.sleep(_TAIL_POLL_S)


__all__ = ["routes"]
