"""RLlib's core: RLModules, learners and the ids shared by both."""

from __future__ import annotations

__all__ = ["ALL_MODULES", "DEFAULT_AGENT_ID", "DEFAULT_MODULE_ID"]

DEFAULT_MODULE_ID = "default_policy"
DEFAULT_AGENT_ID = "default_agent"
ALL_MODULES = "__all_modules__"
