"""init() returns Ray's RayContext: `address_info` with Ray's keys, `dashboard_url` as
host:port, versions, dict access, and a context manager that shuts the session down."""

from __future__ import annotations

import sys

import ember


def test_init_returns_a_ray_context(shutdown_after):
    ctx = ember.init(num_cpus=1, include_dashboard=True, dashboard_port=0)
    info = ctx.address_info
    assert info["node_ip_address"] == info["raylet_ip_address"] == "127.0.0.1"
    assert info["node_id"] == ember.get_runtime_context().get_node_id()
    assert info["session_dir"] and info["resources"]["CPU"] == 1
    # Ray's dashboard_url and webui_url are host:port; the metrics port is the dashboard's.
    assert ctx.dashboard_url == info["webui_url"] and "://" not in ctx.dashboard_url
    assert info["dashboard_url"] == f"http://{ctx.dashboard_url}"
    assert info["metrics_export_port"] == int(ctx.dashboard_url.rsplit(":", 1)[1])
    assert ctx["node_id"] == info["node_id"] and set(ctx) == set(info)
    assert ctx.python_version == "{}.{}.{}".format(*sys.version_info[:3])
    assert ctx.ray_version == ember.__version__
    assert ember.init(ignore_reinit_error=True) is ctx


def test_without_a_dashboard_the_urls_are_none(shutdown_after):
    ctx = ember.init(num_cpus=1, include_dashboard=False)
    assert ctx.dashboard_url is None and ctx.address_info["webui_url"] is None
    assert ctx.address_info["metrics_export_port"] is None


def test_the_context_manager_shuts_the_session_down(shutdown_after):
    with ember.init(num_cpus=1, include_dashboard=False) as ctx:
        assert ember.is_initialized() and ctx.address_info["node_id"]
        assert ember.get(ember.put(3)) == 3
    assert not ember.is_initialized()
