"""What `init()` returns, shaped as Ray's RayContext: `address_info`, `dashboard_url`,
versions, a mapping of the address info and a context manager that shuts the session
down on exit."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["RayContext"]


class RayContext(dict):
    """The session `init()` started or joined.

    It is the dict of its `address_info` (`ctx["key"]`, as Ray's still allows), and
    `with ember.init(): ...` shuts the session down when the block ends.
    """

    def __init__(self, address_info: dict[str, Any]) -> None:
        from ember import __version__

        super().__init__(address_info)
        url = address_info.get("dashboard_url")
        # As Ray's: host:port without the scheme (None without a dashboard).
        self.dashboard_url: str | None = url.split("://", 1)[-1] if url else None
        self.python_version = "{}.{}.{}".format(*sys.version_info[:3])
        self.ray_version = __version__
        self.ray_commit = ""

    @property
    def address_info(self) -> dict[str, Any]:
        """node_ip_address, gcs_address, webui_url, metrics_export_port, session_dir,
        node_id … (Ray's keys, and ember's `dashboard_url` and `resources`)."""
        return self

    def __enter__(self) -> RayContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def disconnect(self) -> None:
        """Shut this session down (Ray's name, shared with its client context)."""
        from ember import shutdown

        shutdown()

    def __repr__(self) -> str:
        return f"RayContext(dashboard_url={self.dashboard_url!r}, " \
               f"python_version={self.python_version!r}, ray_version={self.ray_version!r})"
