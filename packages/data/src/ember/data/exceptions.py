"""Errors raised by ember Data.

    Exception
    └── DataError                      base of ember Data's own errors
        └── UserCodeException          a user function failed; names the operator and
                                       the row or batch at fault. At the driver it is
                                       also an instance of the user's exception type, so
                                       `except ValueError` still catches a ValueError.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DataError", "UserCodeException"]


class DataError(Exception):
    """Base of the errors ember Data raises itself."""


class UserCodeException(DataError):
    """A user-defined function raised while an operator processed a row or batch."""

    def __init__(self, message: str, operator: str = "", data: str = "",
                 cause_type: str = "", remote_traceback: str = "",
                 original: BaseException | None = None) -> None:
        super().__init__(message)
        self.operator = operator
        self.data = data
        self.cause_type = cause_type
        self.remote_traceback = remote_traceback
        self.original = original

    def __reduce__(self) -> Any:
        return (UserCodeException, (str(self), self.operator, self.data, self.cause_type,
                                    self.remote_traceback, _picklable(self.original)))


def _picklable(err: BaseException | None) -> BaseException | None:
    if err is None:
        return None
    try:
        import cloudpickle

        cloudpickle.loads(cloudpickle.dumps(err))
        return err
    except Exception:  # noqa: BLE001 - send the message without the object
        return None


_classes: dict[type, type] = {}


def as_instance_of(err: UserCodeException, cause: BaseException | None) -> BaseException:
    """Re-type `err` so it is also an instance of `cause`'s class (driver side only)."""
    cls = type(cause) if cause is not None else None
    if cls is None or issubclass(cls, UserCodeException) or cls.__module__ == "builtins" and \
            cls in (BaseException, KeyboardInterrupt, SystemExit):
        return err
    derived = _classes.get(cls)
    if derived is None:
        try:
            derived = type(f"UserCodeException({cls.__name__})", (UserCodeException, cls), {
                "__init__": lambda self, *a: UserCodeException.__init__(self, *a),
                "__str__": lambda self: UserCodeException.__str__(self),
                "__reduce__": UserCodeException.__reduce__,
            })
        except TypeError:  # incompatible layouts (e.g. OSError subclasses with slots)
            return err
        _classes[cls] = derived
    try:
        out = derived(str(err), err.operator, err.data, err.cause_type, err.remote_traceback,
                      None)
    except Exception:  # noqa: BLE001 - a user exception type with odd construction
        return err
    out.__cause__ = cause
    return out
