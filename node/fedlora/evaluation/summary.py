"""Accuracy summaries across sites: average, worst site, harmonic mean, cross-generalization."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from fedlora.errors import FedloraError


@dataclass(frozen=True)
class SiteSummary:
    """How one global model does across the sites' own test splits.

    Attributes
    ----------
    avg : float
        Mean accuracy over sites (each site counts once).
    min : float
        Accuracy of the worst site.
    worst_site : str
        Its name (the alphabetically first one on a tie).
    hmean : float
        Harmonic mean over sites; 0 when any site is at 0.
    std : float
        Population standard deviation over sites.
    per_site : dict[str, float]
        Accuracy by site, in site-name order.
    """

    avg: float
    min: float
    worst_site: str
    hmean: float
    std: float
    per_site: dict[str, float]


@dataclass(frozen=True)
class CrossSummary:
    """How local-only models transfer to the other sites.

    Attributes
    ----------
    per_model : dict[str, float]
        For each model's site, its mean accuracy on the OTHER sites' test splits.
    own_site : dict[str, float]
        Each model's accuracy on its own site's test split (the matrix diagonal), if measured.
    mean : float
        Mean of ``per_model`` ("cross-client generalization").
    """

    per_model: dict[str, float]
    own_site: dict[str, float]
    mean: float


def _checked(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FedloraError(f"{what} is {value!r}", "accuracies must be finite numbers")
    if value < 0:
        raise FedloraError(f"{what} is {value!r}", "accuracies cannot be negative")
    return float(value)


def summarize(accuracy_by_site: Mapping[str, float]) -> SiteSummary:
    """Summarize per-site accuracies of one model.

    Parameters
    ----------
    accuracy_by_site : Mapping[str, float]
        Accuracy on each site's own test split (fractions or percentages, consistently).

    Returns
    -------
    SiteSummary

    Raises
    ------
    FedloraError
        For no sites or a negative / non-finite accuracy.
    """
    if not accuracy_by_site:
        raise FedloraError("no per-site accuracies to summarize", "evaluate at least one site")
    per_site = {
        site: _checked(accuracy_by_site[site], f"accuracy of site {site!r}")
        for site in sorted(accuracy_by_site)
    }
    values = list(per_site.values())
    worst_site = min(per_site, key=lambda site: (per_site[site], site))
    hmean = 0.0 if min(values) == 0 else statistics.harmonic_mean(values)
    return SiteSummary(
        avg=math.fsum(values) / len(values),
        min=per_site[worst_site],
        worst_site=worst_site,
        hmean=hmean,
        std=statistics.pstdev(values),
        per_site=per_site,
    )


def cross_generalization(matrix: Mapping[str, Mapping[str, float]]) -> CrossSummary:
    """Summarize a site x site matrix of local-only models.

    Parameters
    ----------
    matrix : Mapping[str, Mapping[str, float]]
        ``matrix[model_site][test_site]``: accuracy of the model trained at ``model_site`` on
        the test split of ``test_site``. Every model must be measured on every other site.

    Returns
    -------
    CrossSummary

    Raises
    ------
    FedloraError
        For fewer than two sites, a missing cell, or an invalid accuracy.
    """
    sites = sorted(set(matrix) | {test for row in matrix.values() for test in row})
    if len(matrix) < 1 or len(sites) < 2:
        raise FedloraError(
            "cross-generalization needs models evaluated on at least two sites",
            "evaluate each local model on every site's test split",
        )
    per_model: dict[str, float] = {}
    own_site: dict[str, float] = {}
    for model in sorted(matrix):
        row = matrix[model]
        others = [site for site in sites if site != model]
        missing = [site for site in others if site not in row]
        if missing:
            raise FedloraError(
                f"model of site {model!r} was not evaluated on {', '.join(missing)}",
                "evaluate each local model on every site's test split",
            )
        scores = [_checked(row[site], f"accuracy of {model!r} on {site!r}") for site in others]
        per_model[model] = math.fsum(scores) / len(scores)
        if model in row:
            own_site[model] = _checked(row[model], f"accuracy of {model!r} on its own site")
    return CrossSummary(
        per_model=per_model,
        own_site=own_site,
        mean=math.fsum(per_model.values()) / len(per_model),
    )
