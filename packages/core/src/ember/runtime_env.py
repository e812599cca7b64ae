"""Ray's typed runtime environment: `RuntimeEnv(pip=[...], env_vars={...})` is the dict
that `runtime_env=` takes, checked when it is built."""

from __future__ import annotations

from typing import Any

__all__ = ["RuntimeEnv", "RuntimeEnvConfig"]


class RuntimeEnvConfig(dict):
    """Settings of a runtime environment's setup (`config=`): `setup_timeout_seconds`
    (default 600; -1 waits forever) and `eager_install` (default True)."""

    def __init__(self, setup_timeout_seconds: int = 600, eager_install: bool = True,
                 log_files: list[str] | None = None) -> None:
        if not isinstance(setup_timeout_seconds, int) or isinstance(
                setup_timeout_seconds, bool):
            raise TypeError("setup_timeout_seconds must be an int, got "
                            f"{type(setup_timeout_seconds).__name__}.")
        if setup_timeout_seconds <= 0 and setup_timeout_seconds != -1:
            raise ValueError("setup_timeout_seconds must be > 0 or -1 (no limit), got "
                             f"{setup_timeout_seconds}.")
        if not isinstance(eager_install, bool):
            raise TypeError(f"eager_install must be a bool, got {eager_install!r}.")
        super().__init__(setup_timeout_seconds=setup_timeout_seconds,
                         eager_install=eager_install, log_files=list(log_files or []))


class RuntimeEnv(dict):
    """A runtime environment for a job, task or actor: the same fields as the dict form
    (`working_dir`, `py_modules`, `excludes`, `pip`, `uv`, `env_vars`, `config`), checked
    here so a mistake shows where the environment is written."""

    def __init__(self, *, py_modules: list | None = None, working_dir: str | None = None,
                 pip: list[str] | dict | str | None = None,
                 uv: list[str] | dict | str | None = None,
                 env_vars: dict[str, str] | None = None,
                 config: dict | RuntimeEnvConfig | None = None,
                 excludes: list[str] | None = None, _validate: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(kwargs)
        given = {"py_modules": py_modules, "working_dir": working_dir, "pip": pip, "uv": uv,
                 "env_vars": env_vars, "config": config, "excludes": excludes}
        self.update({k: v for k, v in given.items() if v is not None})
        if _validate:
            from ember._core.common import runtime_env

            runtime_env.validate(dict(self))

    def to_dict(self) -> dict:
        """The plain dict form."""
        return dict(self)
