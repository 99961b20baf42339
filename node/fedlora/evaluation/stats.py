"""Comparing methods honestly: deltas against a baseline, and the uncertainty of an accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fedlora.errors import FedloraError
from fedlora.evaluation.summary import SiteSummary


@dataclass(frozen=True)
class SummaryDelta:
    """``candidate - baseline`` for each summary figure and each site both measured.

    Attributes
    ----------
    avg, min, hmean, std : float
        Differences of the summary figures (positive avg/min/hmean is better; positive std is
        a less even model).
    per_site : dict[str, float]
        Differences per site, for the sites both summaries contain, in name order.
    """

    avg: float
    min: float
    hmean: float
    std: float
    per_site: dict[str, float]

    def improves_worst_without_hurting_average(self, tolerance: float = 0.0) -> bool:
        """True when the worst site gained and the average lost at most ``tolerance``."""
        return self.min > 0 and self.avg >= -tolerance


def compare(candidate: SiteSummary, baseline: SiteSummary) -> SummaryDelta:
    """Return how ``candidate`` differs from ``baseline`` (e.g. fedlora vs FedAvg).

    Raises
    ------
    FedloraError
        When the two were measured on different sites.
    """
    if set(candidate.per_site) != set(baseline.per_site):
        raise FedloraError(
            "the two summaries cover different sites",
            "compare methods evaluated on the same partition",
        )
    return SummaryDelta(
        avg=candidate.avg - baseline.avg,
        min=candidate.min - baseline.min,
        hmean=candidate.hmean - baseline.hmean,
        std=candidate.std - baseline.std,
        per_site={
            site: candidate.per_site[site] - baseline.per_site[site]
            for site in sorted(candidate.per_site)
        },
    )


def wilson_interval(accuracy: float, num_examples: int, z: float = 1.96) -> tuple[float, float]:
    """Return the Wilson score interval of an accuracy measured on ``num_examples`` items.

    With 100 test rows at 50 % the 95 % interval is about +-9.6 points; differences between
    methods smaller than that on one seed are noise.

    Parameters
    ----------
    accuracy : float
        Fraction correct, in [0, 1].
    num_examples : int
        Number of test items it was measured on (> 0).
    z : float
        Normal quantile (1.96 for 95 %).

    Raises
    ------
    FedloraError
        For an accuracy outside [0, 1] or no examples.
    """
    if not 0.0 <= accuracy <= 1.0:
        raise FedloraError(f"accuracy {accuracy!r} is not a fraction", "pass a value in [0, 1]")
    if num_examples < 1:
        raise FedloraError(f"num_examples={num_examples} is invalid", "use at least 1")
    n = float(num_examples)
    denominator = 1.0 + z * z / n
    centre = (accuracy + z * z / (2.0 * n)) / denominator
    half = z * math.sqrt(accuracy * (1.0 - accuracy) / n + z * z / (4.0 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
