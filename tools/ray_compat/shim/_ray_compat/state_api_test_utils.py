"""Ray's state-API test helpers (`ray._private.state_api_test_utils`), over the public
state API: call a `list_*` function and check its result with a callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _ray_compat.test_utils import wait_for_condition

__all__ = ["invoke_state_api", "invoke_state_api_n"]


def invoke_state_api(verify_cb: Callable[[Any], bool], state_api_fn: Callable[..., Any],
                     state_stats: Any = None, key_suffix: str | None = None,
                     print_result: bool = False, err_msg: str | None = None,
                     **kwargs: Any) -> Any:
    """Call `state_api_fn(**kwargs)` and assert `verify_cb` accepts its result."""
    kwargs.setdefault("raise_on_missing_output", False)
    res = state_api_fn(**kwargs)
    if print_result:
        print(res)
    assert verify_cb(res), err_msg or f"state API result not accepted: {res}"
    return res


def invoke_state_api_n(*args: Any, **kwargs: Any) -> None:
    """Call `invoke_state_api` ten times in a row until every call is accepted."""
    def verify() -> bool:
        for _ in range(10):
            invoke_state_api(*args, **kwargs)
        return True

    wait_for_condition(verify, retry_interval_ms=2000, timeout=30)
