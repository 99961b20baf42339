"""DP-SGD in a simulation: one noise multiplier for every site, as a session fixes on chain.

With a target epsilon the noise multiplier is derived for the planned steps (``rounds *
local_steps`` per site) at the highest sampling rate of any site (the smallest site), so every
site spends at most the target. Each site's spent epsilon is reported with the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedlora.data import FederatedData
from fedlora.simulation.config import SimulationConfig
from fedlora.training.dp import DpSettings, epsilon_spent, noise_multiplier_for, sample_rate

POOLED = "centralized (pooled)"


@dataclass(frozen=True)
class PrivacyPlan:
    """The DP-SGD parameters of one (config, partition), and each site's sampling rate."""

    noise_multiplier: float
    clip_norm: float
    delta: float
    epsilon_target: float | None
    steps_per_site: int
    rates: dict[str, float]

    def settings(self, noise_seed: int) -> DpSettings:
        """DP-SGD settings whose sampling and noise follow ``noise_seed`` (reproducible runs)."""
        return DpSettings(self.noise_multiplier, self.clip_norm, noise_seed=noise_seed)

    def spent(self, rate: float, steps: int) -> float:
        """Epsilon of ``steps`` steps at ``rate`` with this plan's noise and delta."""
        return epsilon_spent([(self.noise_multiplier, rate, steps)], self.delta)

    def describe(self, pooled: tuple[float, int] | None = None) -> dict[str, Any]:
        """JSON for result files: the parameters and each site's spent epsilon.

        ``pooled`` is the centralized baseline's (rate, steps) on the pooled data.
        """
        spent = {site: self.spent(rate, self.steps_per_site) for site, rate in self.rates.items()}
        if pooled is not None:
            spent[POOLED] = self.spent(*pooled)
        return {
            "noise_multiplier": self.noise_multiplier,
            "clip_norm": self.clip_norm,
            "delta": self.delta,
            "epsilon_target": self.epsilon_target,
            "steps_per_site": self.steps_per_site,
            "sample_rate": self.rates,
            "epsilon_spent": spent,
        }


def plan_privacy(config: SimulationConfig, data: FederatedData) -> PrivacyPlan | None:
    """The run's DP-SGD plan, or None when the config asks for no DP."""
    if config.dp_epsilon is None and config.dp_noise_multiplier is None:
        return None
    steps = config.rounds * config.local_steps
    rates = {c.name: sample_rate(config.batch_size, len(c.train)) for c in data.clients}
    sigma = config.dp_noise_multiplier
    if sigma is None:
        assert config.dp_epsilon is not None
        sigma = noise_multiplier_for(config.dp_epsilon, config.dp_delta, max(rates.values()), steps)
    return PrivacyPlan(sigma, config.dp_clip_norm, config.dp_delta, config.dp_epsilon, steps, rates)
