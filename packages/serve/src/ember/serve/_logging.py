"""A deployment's `logging_config` (Ray's `LoggingConfig`) applied in its replicas.

With a logging config, the replica's "ray.serve" logger gets the config's level and one
handler writing to stderr (which reaches the driver) and, with `logs_dir`, one writing
to `logs_dir/replica_<app>_<deployment>_<replica>.log`; TEXT lines read
"LEVEL time deployment replica -- message", JSON lines are objects with the same fields
(plus the request id while a request is handled and `additional_log_standard_attrs`).
Without one, the logger is left as it is.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from ember.serve._constants import SERVE_LOGGER_NAME

__all__ = ["configure_replica_logging", "normalize", "with_app_default"]


def normalize(value: Any) -> dict | None:
    """A LoggingConfig or dict as checked plain data."""
    if value is None:
        return None
    from ember.serve.schema import LoggingConfig

    if isinstance(value, dict):
        value = LoggingConfig(**value)
    if not isinstance(value, LoggingConfig):
        raise TypeError("logging_config must be a dict or a LoggingConfig.")
    return value.model_dump()


def with_app_default(specs: list[dict], value: Any) -> list[dict]:
    """An application's logging config for its deployments that set none."""
    cfg = normalize(value)
    if cfg is not None:
        for spec in specs:
            if not spec["config"].get("logging_config"):
                spec["config"]["logging_config"] = cfg
    return specs


class _Fields(logging.Filter):
    def __init__(self, app: str, deployment: str, replica: str) -> None:
        super().__init__()
        self.app, self.deployment, self.replica = app, deployment, replica

    def filter(self, record: logging.LogRecord) -> bool:
        from ember.serve.context import get_request_context

        record.application = self.app
        record.deployment = self.deployment
        record.replica = self.replica
        record.request_id = get_request_context().request_id
        return True


class _JsonFormatter(logging.Formatter):
    def __init__(self, extra: list[str]) -> None:
        super().__init__()
        self.extra = extra

    def format(self, record: logging.LogRecord) -> str:
        out = {"asctime": self.formatTime(record), "levelname": record.levelname,
               "message": record.getMessage(), "filename": record.filename,
               "lineno": record.lineno, "application": getattr(record, "application", ""),
               "deployment": getattr(record, "deployment", ""),
               "replica": getattr(record, "replica", ""), "component_name": "replica"}
        if getattr(record, "request_id", ""):
            out["request_id"] = record.request_id
        for name in self.extra:
            out[name] = getattr(record, name, None)
        if record.exc_info:
            out["exc_text"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_replica_logging(cfg: dict | None, app: str, deployment: str,
                              replica: str) -> None:
    """Apply `cfg` (a LoggingConfig as data) to this process's "ray.serve" logger."""
    logger = logging.getLogger(SERVE_LOGGER_NAME)
    for h in [h for h in logger.handlers if getattr(h, "_ember_serve", False)]:
        logger.removeHandler(h)
        h.close()
    if not cfg:
        return
    level = cfg.get("log_level", "INFO")
    logger.setLevel(level if isinstance(level, int) else str(level).upper())
    if cfg.get("encoding", "TEXT").upper() == "JSON":
        fmt: logging.Formatter = _JsonFormatter(list(cfg.get("additional_log_standard_attrs")
                                                     or ()))
    else:
        fmt = logging.Formatter("%(levelname)s %(asctime)s %(deployment)s %(replica)s "
                                "-- %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if cfg.get("logs_dir"):
        os.makedirs(cfg["logs_dir"], exist_ok=True)
        handlers.append(logging.FileHandler(os.path.join(
            cfg["logs_dir"], f"replica_{app}_{deployment}_{replica}.log")))
    fields = _Fields(app, deployment, replica)
    for h in handlers:
        h._ember_serve = True  # type: ignore[attr-defined]
        h.setFormatter(fmt)
        h.addFilter(fields)
        logger.addHandler(h)
    logger.propagate = False
