"""Ray's constants that its tests import (`ray._common.constants`,
`ray._private.ray_constants`), with ember's values; any other name is a stand-in."""

from __future__ import annotations

from _ray_compat.internal import module_getattr

HEAD_NODE_RESOURCE_NAME = "node:__internal_head__"
NODE_ID_PREFIX = "node:"
RAY_DEFAULT_LABEL_KEYS_PREFIX = "ray.io/"
DEFAULT_DASHBOARD_PORT = 8265
DEFAULT_PORT = 6379
ID_SIZE = 28
# The size limits of a pickled function or actor class (ember's are Ray's).
FUNCTION_SIZE_WARN_THRESHOLD = 10 * 1024 * 1024
FUNCTION_SIZE_ERROR_THRESHOLD = 95 * 1024 * 1024
NUM_REDIS_GET_RETRIES = 2

__getattr__ = module_getattr("ray._private.ray_constants")
