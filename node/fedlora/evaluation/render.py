"""Present summaries: Rich tables for people, plain dicts for JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from rich.table import Table

from fedlora.evaluation.comm import RoundTraffic
from fedlora.evaluation.summary import CrossSummary, SiteSummary


def _pct(value: float, as_percent: bool) -> str:
    return f"{100 * value:.1f}" if as_percent else f"{value:.3f}"


def render_table(
    summaries: Mapping[str, SiteSummary],
    title: str = "Accuracy by method",
    as_percent: bool = True,
    caption: str | None = None,
) -> Table:
    """Return a Rich table with one row per method: Avg, Min, worst site, H-mean, Std, sites.

    Parameters
    ----------
    summaries : Mapping[str, SiteSummary]
        Summary of each method (row order is kept).
    title : str
        Table title.
    as_percent : bool
        Show fractions as percentages with one decimal.
    caption : str, optional
        Line under the table (e.g. what a reference row means).
    """
    sites = sorted({site for summary in summaries.values() for site in summary.per_site})
    table = Table(title=title, caption=caption)
    table.add_column("method")
    for header in ("avg", "min", "worst site", "h-mean", "std", *sites):
        table.add_column(header, justify="left" if header == "worst site" else "right")
    for method, summary in summaries.items():
        per_site = [
            _pct(summary.per_site[site], as_percent) if site in summary.per_site else "-"
            for site in sites
        ]
        table.add_row(
            method,
            _pct(summary.avg, as_percent),
            _pct(summary.min, as_percent),
            summary.worst_site,
            _pct(summary.hmean, as_percent),
            _pct(summary.std, as_percent),
            *per_site,
        )
    return table


def render_cross_table(
    matrix: Mapping[str, Mapping[str, float]],
    summary: CrossSummary,
    title: str = "Local-only models across sites",
    as_percent: bool = True,
) -> Table:
    """Return a Rich table of ``matrix[model_site][test_site]`` with each model's off-site mean."""
    sites = sorted(set(matrix) | {test for row in matrix.values() for test in row})
    caption = f"cross-client generalization: {_pct(summary.mean, as_percent)}"
    table = Table(title=title, caption=caption)
    table.add_column("model \\ test")
    for site in sites:
        table.add_column(site, justify="right")
    table.add_column("other sites", justify="right")
    for model in sorted(matrix):
        cells = [
            _pct(matrix[model][site], as_percent) if site in matrix[model] else "-"
            for site in sites
        ]
        table.add_row(model, *cells, _pct(summary.per_model[model], as_percent))
    return table


def summary_to_dict(summary: SiteSummary) -> dict[str, Any]:
    """Return a JSON-able dict of a SiteSummary."""
    return asdict(summary)


def cross_to_dict(summary: CrossSummary) -> dict[str, Any]:
    """Return a JSON-able dict of a CrossSummary."""
    return asdict(summary)


def traffic_to_dict(traffic: RoundTraffic) -> dict[str, int]:
    """Return a JSON-able dict of a RoundTraffic."""
    return {"uploads": traffic.uploads, "downloads": traffic.downloads, "total": traffic.total}
