"""Callback: hooks into the experiment loop (loggers, trackers, custom bookkeeping).

Each hook receives keyword arguments; `iteration` counts controller steps and `trials`
is the list of all trials.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Callback"]


class Callback:
    """Override the hooks you need; all default to doing nothing."""

    def setup(self, stop: Any = None, num_samples: int | None = None,
              total_num_samples: int | None = None, **info: Any) -> None:
        """Called once before the first trial starts."""

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        pass

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        pass

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        pass

    def on_trial_restore(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        pass

    def on_trial_save(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        pass

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        pass

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        pass

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        pass

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        pass

    def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any,
                      **info: Any) -> None:
        pass

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        pass


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks: list[Callback]) -> None:
        self.callbacks = list(callbacks)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith(("on_", "setup")):
            raise AttributeError(name)

        def call(**kwargs: Any) -> None:
            for cb in self.callbacks:
                getattr(cb, name)(**kwargs)

        return call
