"""Stands for `ray.serve._private.constants`: the flags Serve's public tests read, with
the values that describe ember (Ray's defaults); any other name is a stand-in."""

from __future__ import annotations

from _ray_compat.internal import module_getattr

SERVE_DEFAULT_APP_NAME = "default"
# ember runs no local testing mode, serves handles over actor calls (not gRPC), and its
# handles route on the Serve client's own event loop thread.
RAY_SERVE_FORCE_LOCAL_TESTING_MODE = False
RAY_SERVE_USE_GRPC_BY_DEFAULT = False
RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP = True

__getattr__ = module_getattr("ray.serve._private.constants")
