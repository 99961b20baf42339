"""Paired differences between two methods over the seeds both ran, with 95 % intervals.

A seed is one partition of the data: two methods run on the same seed see the same sites and
the same test splits, so the difference per seed is the unit of evidence, and its spread over
seeds (not each method's own spread) decides whether a lead is real. The interval is Student's
t over those differences; the per-seed signs show whether the lead held on every seed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fedlora.simulation.keys import group_by_method
from fedlora.simulation.spread import COLUMNS, run_metrics

# Two-sided 95 % quantiles of Student's t by degrees of freedom; between rows, the next lower
# row's (wider) value is used. Beyond 120, the normal's 1.96.
_T_975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}  # fmt: skip


# Differences smaller than this, in points, are level.
_LEVEL = 1e-9


@dataclass(frozen=True)
class PairedDifference:
    """``method`` minus ``baseline`` on one metric, in points, over the seeds both ran."""

    method: str
    baseline: str
    metric: str
    seeds: tuple[int, ...]
    differences: tuple[float, ...]  # per seed, in the order of ``seeds``
    baseline_metric: str = ""  # the baseline's metric when it is not ``metric``

    @property
    def label(self) -> str:
        """The metric as the tables name it, with the baseline's when they differ."""
        mine = COLUMNS.get(self.metric, self.metric)
        if not self.baseline_metric or self.baseline_metric == self.metric:
            return mine
        return f"{mine} vs {COLUMNS.get(self.baseline_metric, self.baseline_metric)}"

    @property
    def mean(self) -> float:
        """Mean difference."""
        return statistics.fmean(self.differences)

    @property
    def half_width(self) -> float:
        """Half the 95 % interval (infinite with one seed)."""
        count = len(self.differences)
        if count < 2:
            return math.inf
        return t_975(count - 1) * statistics.stdev(self.differences) / math.sqrt(count)

    @property
    def signs(self) -> str:
        """One character per seed: + ahead, - behind, = level (within float rounding: two
        metrics summed in another order differ in the 15th digit)."""
        return "".join("=" if abs(d) < _LEVEL else "+" if d > 0 else "-" for d in self.differences)

    def render(self) -> str:
        """``+4.2 [-1.0, +9.4], signs ++-++``."""
        low, high = self.mean - self.half_width, self.mean + self.half_width
        return f"{self.mean:+.1f} [{low:+.1f}, {high:+.1f}], signs {self.signs}"


def t_975(degrees: int) -> float:
    """Two-sided 95 % quantile of Student's t (conservative between tabulated rows)."""
    if degrees < 1:
        raise ValueError("at least one degree of freedom")
    if degrees > max(_T_975):
        return 1.960
    return _T_975[max(row for row in _T_975 if row <= degrees)]


def paired_differences(
    results: Iterable[Mapping[str, Any]],
    baseline: str,
    metric: str,
    baseline_metric: str = "",
) -> list[PairedDifference]:
    """Every other method against ``baseline`` (a method name as the tables show it).

    ``baseline_metric`` compares ``metric`` with another of the baseline's metrics: a method's
    personalized adapters (``pers_avg``) against local-only models on the same splits (``avg``).
    """
    grouped = group_by_method(results)
    if baseline not in grouped:
        raise ValueError(f"no runs of {baseline!r}; methods: {', '.join(grouped)}")
    theirs = baseline_metric or metric
    base = {run["seed"]: run_metrics(run).get(theirs) for run in grouped[baseline]}
    pairs = []
    for name, runs in grouped.items():
        mine = {run["seed"]: run_metrics(run).get(metric) for run in runs}
        seeds = sorted(s for s in mine if mine[s] is not None and base.get(s) is not None)
        if name == baseline or not seeds:
            continue
        diffs = tuple(float(mine[s]) - float(base[s]) for s in seeds)  # type: ignore[arg-type]
        pairs.append(PairedDifference(name, baseline, metric, tuple(seeds), diffs, theirs))
    return pairs


def render_paired_markdown(pairs: list[PairedDifference]) -> str:
    """A Markdown table: method, baseline, metric, mean difference with its interval, signs."""
    lines = [
        "| method | vs | metric | difference, points [95 % CI] | per-seed sign | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for pair in pairs:
        lines.append(
            f"| {pair.method} | {pair.baseline} | {pair.label} | "
            f"{pair.mean:+.1f} [{pair.mean - pair.half_width:+.1f}, "
            f"{pair.mean + pair.half_width:+.1f}] | {pair.signs} | {len(pair.seeds)} |"
        )
    return "\n".join(lines)
