"""Backend set-up of a worker group (e.g. torch's process group), run by the controller."""

from __future__ import annotations

from typing import Any

__all__ = ["BackendConfig"]


class BackendConfig:
    """No framework set-up: workers just run the loop. Subclasses set up e.g. torch."""

    def on_start(self, group: Any) -> None:
        """After the workers exist, before the loop starts on them."""

    def on_training_start(self, group: Any) -> None:
        """Right before the loop starts."""

    def on_shutdown(self, group: Any) -> None:
        """Before a healthy group is removed (not after a failure)."""

    def warm_up(self) -> Any:
        """A function a standby worker runs ahead of need (e.g. import the framework)."""
        return _nothing


def _nothing() -> None:
    pass
