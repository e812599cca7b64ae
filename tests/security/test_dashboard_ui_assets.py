"""The UI's static assets are the only thing open besides the token page: no cluster
data, no path escapes, and the gate still guards everything else."""

from __future__ import annotations

import os

import httpx
import pytest

import ember


@pytest.fixture(scope="module")
def dash():
    if ember.is_initialized():
        ember.shutdown()
    info = ember.init(num_cpus=1, include_dashboard=True, dashboard_port=0)
    with open(os.path.join(info["session_dir"], "token")) as f:
        token = f.read().strip()
    yield info["dashboard_url"], token
    ember.shutdown()


@pytest.fixture(scope="module")
def url(dash):
    return dash[0]


def test_assets_are_served_without_the_token(url):
    for name, kind in (("app.js", "javascript"), ("charts.js", "javascript"),
                       ("style.css", "css")):
        r = httpx.get(f"{url}/ui/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert "Cluster token" in httpx.get(url + "/").text


def test_only_packaged_asset_names_are_served(dash):
    url, token = dash
    for path in ("/ui/index.html", "/ui/../token", "/ui/%2e%2e/token", "/ui/..%2ftoken",
                 "/ui/nope.js", "/ui/__init__.py", "/ui/", "/ui/app.js/../../token"):
        r = httpx.get(url + path)
        assert r.status_code in (401, 404), path
        assert token.encode() not in r.content and len(r.content) < 200


def test_the_open_prefix_opens_nothing_else(url):
    # Reads only: a write under /ui/ still needs the token, and API paths stay gated.
    assert httpx.post(f"{url}/ui/app.js", content=b"x").status_code == 401
    assert httpx.get(f"{url}/ui/../api/v0/nodes").status_code in (401, 404)
    assert httpx.get(f"{url}/api/v0/nodes").status_code == 401
    assert httpx.get(f"{url}/ui/x/../../api/v0/nodes").status_code in (401, 404)
