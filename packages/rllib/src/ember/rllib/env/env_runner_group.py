"""EnvRunnerGroup: the local env runner, or env runner actors, with fault tolerance.

num_env_runners=0 samples in the driver with no actor round trip per step (or per
call). With N > 0 runners, each is an ember actor holding its own vector env; sample()
asks all of them in parallel for their share of the steps. A runner whose process dies
(ActorDiedError) is replaced by a fresh actor with the latest weights and sampling goes
on with the healthy ones (restart_failed_env_runners=True, RLlib's default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ember
from ember.exceptions import ActorUnavailableError, RayActorError, WorkerCrashedError
from ember.rllib.env.env_runner import SampleResult

__all__ = ["EnvRunnerGroup"]

logger = logging.getLogger(__name__)
_FAILURES = (RayActorError, WorkerCrashedError, ActorUnavailableError)


class EnvRunnerGroup:
    """See the module docstring."""

    def __init__(self, config: Any, runner_class: type, env_creator: Callable[[Any], Any],
                 num_env_runners: int, is_eval: bool = False, local_module: Any = None) -> None:
        self.config = config
        self._cls = runner_class
        self._creator = env_creator
        self._is_eval = is_eval
        self._n = int(num_env_runners)
        self._local = None
        self._remote: dict[int, Any] = {}
        self._weights_ref: Any = None
        self.num_restarts = 0
        self._in_flight: dict[Any, int] = {}
        self._weights_version = 0
        self._sent_version: dict[int, int] = {}
        if self._n == 0:
            self._local = runner_class(config, 0, 0, env_creator, module=local_module,
                                       is_eval=is_eval)
        else:
            self._actor_cls = ember.remote(num_cpus=config.num_cpus_per_env_runner,
                                           max_restarts=0)(runner_class)
            for i in range(1, self._n + 1):
                self._remote[i] = self._make(i)
            ember.get([a.ping.remote() for a in self._remote.values()])

    def _make(self, index: int) -> Any:
        return self._actor_cls.remote(self.config, index, self._n, self._creator,
                                      is_eval=self._is_eval)

    # ----- introspection ---------------------------------------------------------------
    @property
    def local_env_runner(self) -> Any:
        return self._local

    @property
    def num_remote_env_runners(self) -> int:
        return len(self._remote)

    def num_healthy_env_runners(self) -> int:
        return len(self._remote) if self._remote else 1

    def get_spaces(self) -> dict[str, tuple[Any, Any]]:
        if self._local is not None:
            return self._local.get_spaces()
        return self._call(lambda a: a.get_spaces.remote())[0]

    def foreach_env_runner(self, func: Callable[[Any], Any],
                           local_env_runner: bool = True) -> list[Any]:
        """func(env_runner) on every runner (the local one too, if any and asked)."""
        out = [func(self._local)] if self._local is not None and local_env_runner else []
        if self._remote:
            out += self._call(lambda a: a.apply.remote(func))
        return out

    # ----- weights and sampling ----------------------------------------------------------
    def sync_weights(self, weights: dict[str, Any] | None) -> None:
        """Send learner weights to every runner (None: nothing to send)."""
        if weights is None:
            return
        if self._local is not None:
            self._local.set_weights(weights)
            return
        self._weights_ref = ember.put(weights)
        self._weights_version += 1
        self._sent_version = {i: self._weights_version for i in self._remote}
        self._call(lambda a: a.set_weights.remote(self._weights_ref))

    def sample(self, num_timesteps: int | None = None, num_episodes: int | None = None,
               weights: dict[str, Any] | None = None, **kwargs: Any) -> list[SampleResult]:
        """Sample `num_timesteps` in total (split over runners) or `num_episodes` in total."""
        if self._local is not None:
            if weights is not None:
                self._local.set_weights(weights)
            return [self._local.sample(num_timesteps=num_timesteps, num_episodes=num_episodes,
                                       **kwargs)]
        if weights is not None:
            self._weights_ref = ember.put(weights)
        n = len(self._remote)
        per_t = None if num_timesteps is None else -(-num_timesteps // n)
        per_e = None if num_episodes is None else -(-num_episodes // n)
        w = self._weights_ref if weights is not None else None
        return self._call(lambda a: a.sample.remote(num_timesteps=per_t, num_episodes=per_e,
                                                    weights=w, **kwargs))

    def sample_async(self, weights: dict[str, Any] | None = None,
                     **kwargs: Any) -> list[SampleResult]:
        """IMPALA-style: results of the runners that are done; those are asked again.

        Every runner always has one sample() request in flight; each new request carries
        the latest weights, so the behaviour policy lags the learner by at most one round.
        """
        if self._local is not None:
            return self.sample(weights=weights, **kwargs)
        if weights is not None:
            self._weights_ref = ember.put(weights)
            self._weights_version += 1
        for i, a in self._remote.items():
            if i not in self._in_flight.values():
                new = self._sent_version.get(i, -1) < self._weights_version
                self._sent_version[i] = self._weights_version
                self._in_flight[a.sample.remote(
                    weights=self._weights_ref if new else None, **kwargs)] = i
        ready, _ = ember.wait(list(self._in_flight), num_returns=1, timeout=None)
        ready, _ = ember.wait(list(self._in_flight), num_returns=len(self._in_flight),
                              timeout=0)
        out = []
        for ref in ready:
            i = self._in_flight.pop(ref)
            try:
                out.append(ember.get(ref))
            except _FAILURES as e:
                self._replace(i, e)
        return out

    def _call(self, fn: Callable[[Any], Any]) -> list[Any]:
        """fn(actor) -> ref on every runner; replace failed runners and return the rest."""
        refs = {i: fn(a) for i, a in self._remote.items()}
        out = []
        for i, ref in refs.items():
            try:
                out.append(ember.get(ref))
            except _FAILURES as e:
                self._replace(i, e)
        if not out and self._remote:
            return self._call(fn)
        return out

    def _replace(self, index: int, error: BaseException) -> None:
        if not self.config.restart_failed_env_runners:
            raise error
        limit = self.config.max_num_env_runner_restarts
        if limit is not None and self.num_restarts >= limit:
            raise RuntimeError(f"Env runner {index} failed and the restart limit "
                               f"({limit}) is reached.") from error
        logger.warning("Env runner %d failed (%s); starting a replacement.", index,
                       type(error).__name__)
        self._in_flight = {r: i for r, i in self._in_flight.items() if i != index}
        self._remote[index] = self._make(index)
        self.num_restarts += 1
        if self._weights_ref is not None:
            ember.get(self._remote[index].set_weights.remote(self._weights_ref))

    def stop(self) -> None:
        """Close the envs and end the runner actors."""
        if self._local is not None:
            self._local.stop()
        for a in self._remote.values():
            try:
                ember.get(a.stop.remote(), timeout=10)
            except Exception:  # noqa: BLE001 - a dead runner has nothing to close
                pass
            try:
                ember.kill(a)
            except Exception:  # noqa: BLE001
                pass
        self._remote = {}
        self._in_flight = {}
