"""HTTP request ids (Ray's `X-Request-ID`): a request's header names its id, which the
replica sees in its request context, and every response carries its id back."""

from __future__ import annotations

import httpx

from ember import serve
from ember.serve.context import get_request_context


@serve.deployment(ray_actor_options={"num_cpus": 0})
class Echo:
    def __call__(self, request) -> str:
        return get_request_context().request_id


def test_request_id_header_round_trips(serve_url, cleanup_apps):
    serve.run(Echo.bind(), name="rid", route_prefix="/rid")
    given = httpx.get(f"{serve_url}/rid", headers={"X-Request-ID": "123-234"}, timeout=30)
    assert given.status_code == 200
    assert given.headers["x-request-id"] == "123-234"
    assert given.text == "123-234"
    made = httpx.get(f"{serve_url}/rid", timeout=30)
    assert made.headers["x-request-id"] == made.text and made.text
    again = httpx.get(f"{serve_url}/rid", timeout=30)
    assert again.headers["x-request-id"] != made.headers["x-request-id"]
