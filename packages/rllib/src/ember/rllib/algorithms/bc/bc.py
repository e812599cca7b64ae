"""BC: behaviour cloning, MARWIL with beta = 0 (RLlib's BCConfig and BC)."""

from __future__ import annotations

from ember.rllib.algorithms.marwil.marwil import MARWIL, MARWILConfig

__all__ = ["BC", "BCConfig"]


class BCConfig(MARWILConfig):
    """BC's settings: MARWIL's, with beta fixed to 0 (no value function term)."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or BC)
        self.beta = 0.0
        self.lr = 1e-4

    def validate(self) -> None:
        super().validate()
        if self.beta != 0.0:
            raise ValueError("BC requires beta=0; use MARWILConfig for beta > 0.")


class BC(MARWIL):
    """Maximize the log-likelihood of the recorded actions."""

    _config_class = BCConfig
