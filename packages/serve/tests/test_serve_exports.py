"""The public surface of ember.serve: names, order, and a cheap, working import."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import ember.serve as serve
import ember.serve.mcp as serve_mcp


def test_exported_members_are_sorted_and_present():
    for module in (serve, serve_mcp):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name), name


def test_ray_serve_names_exist():
    for name in ["deployment", "run", "start", "shutdown", "status", "delete", "ingress",
                 "batch", "multiplexed", "get_multiplexed_model_id", "get_app_handle",
                 "get_deployment_handle", "get_replica_context", "Application", "Deployment",
                 "DeploymentHandle", "DeploymentResponse", "DeploymentResponseGenerator",
                 "HTTPOptions", "AutoscalingConfig"]:
        assert hasattr(serve, name), name
    from ember.serve.exceptions import BackPressureError, RayServeException
    from ember.serve.schema import ApplicationStatus, ServeDeploySchema, ServeStatus

    assert issubclass(BackPressureError, RayServeException)
    assert ApplicationStatus.RUNNING == "RUNNING" and ServeStatus and ServeDeploySchema


def test_import_is_cheap_and_works_in_the_workspace():
    code = ("import sys, ember.serve; "
            "print(any(m in sys.modules for m in ('fastapi', 'uvicorn', 'mcp', 'starlette')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False"]


def test_starlette_requests_is_loaded_for_programs_that_import_starlette():
    code = ("import starlette, ember.serve; "
            "print(starlette.requests.Request.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["Request"]


def test_status_without_a_cluster_starts_nothing():
    import ember

    if not ember.is_initialized():
        assert serve.status().applications == {}
        serve.shutdown()
        assert not ember.is_initialized()


def test_a_program_that_ends_without_shutdown_leaves_no_pending_task_warning():
    code = textwrap.dedent("""
        import ember
        from ember import serve

        ember.init(num_cpus=1)

        @serve.deployment(ray_actor_options={"num_cpus": 0})
        def hello():
            return "hi"

        serve.start(http_options={"port": 0})
        print(serve.run(hello.bind(), route_prefix=None).remote().result(timeout_s=60))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["hi"]
    assert "Task was destroyed" not in out.stderr, out.stderr
