"""Mean and spread over seeds of each method's headline numbers, for the results table.

Each seed is a different partition, so the worst site of one seed is not the worst site of
another: the worst-site number is taken per seed first and then averaged, never read off the
seed-averaged per-site accuracies (which would hide how bad the worst site gets).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fedlora.simulation.keys import method_name, method_names

# Column key -> header; every value is a percentage.
COLUMNS = {
    "avg": "Avg",
    "min": "Min (worst site)",
    "hmean": "H-mean",
    "f1_avg": "Macro-F1 Avg",
    "f1_min": "Macro-F1 Min",
    "maj_avg": "Majority class Avg",
    "maj_min": "Majority class Min",
    "off_site": "Off-site (cross-client gen.)",
    "global": "Global test",
    "last3_min": "Min, mean of last 3 rounds",
    "unseen": "Unseen site (leave-one-out)",
    "pers_avg": "Personalized Avg",
    "pers_min": "Personalized Min",
}


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation of one metric over seeds."""

    mean: float
    std: float
    count: int

    def render(self) -> str:
        """``58.8 ± 3.1`` (no spread shown for a single seed)."""
        if self.count < 2:
            return f"{self.mean:.1f}"
        return f"{self.mean:.1f} ± {self.std:.1f}"


def off_site_accuracy(run: Mapping[str, Any]) -> float:
    """Mean accuracy of each site's model on the other sites' test data, in percent.

    Local-only runs carry the site x site matrix. A shared model is the same model at every
    site, so its off-site accuracy is the mean over sites of the other sites' accuracies.
    """
    cross = run.get("cross")
    if cross is not None:
        return 100.0 * float(cross["mean"])
    accuracies = [float(value) for value in run["final"]["per_site"].values()]
    if len(accuracies) < 2:
        raise ValueError("off-site accuracy needs at least two sites")
    total = sum(accuracies)
    others = [(total - own) / (len(accuracies) - 1) for own in accuracies]
    return 100.0 * sum(others) / len(others)


def run_metrics(run: Mapping[str, Any]) -> dict[str, float]:
    """The table's numbers for one finished run, in percent (``global`` only if measured)."""
    final = run["final"]
    metrics = {
        "avg": 100.0 * final["avg"],
        "min": 100.0 * final["min"],
        "hmean": 100.0 * final["hmean"],
        "off_site": off_site_accuracy(run),
    }
    metrics.update(_skew_metrics(run))
    if run.get("global_test_accuracy") is not None:
        metrics["global"] = 100.0 * float(run["global_test_accuracy"])
    unseen = run.get("unseen_site")
    if unseen is not None:
        metrics["unseen"] = 100.0 * unseen["avg"]
    elif run.get("cross") is not None and run.get("config", {}).get("leave_one_out"):
        metrics["unseen"] = metrics["off_site"]  # local models: each other site's on this one
    personalized = run.get("personalized")
    if personalized is not None:
        metrics["pers_avg"] = 100.0 * personalized["avg"]
        metrics["pers_min"] = 100.0 * personalized["min"]
    last = [entry["summary"]["min"] for entry in run.get("rounds", [])[-3:]]
    if last:
        metrics["last3_min"] = 100.0 * sum(last) / len(last)
    return metrics


def _skew_metrics(run: Mapping[str, Any]) -> dict[str, float]:
    """Macro-F1 and the majority-class rate, in percent, where the run recorded them (runs
    written before they existed have neither)."""
    metrics = {}
    macro_f1 = run.get("final_macro_f1")
    if macro_f1 is not None:
        metrics["f1_avg"] = 100.0 * macro_f1["avg"]
        metrics["f1_min"] = 100.0 * macro_f1["min"]
    majority = run.get("majority_class")
    if majority is not None:
        metrics["maj_avg"] = 100.0 * majority["accuracy"]["avg"]
        metrics["maj_min"] = 100.0 * majority["accuracy"]["min"]
    return metrics


def _spread(values: list[float]) -> Spread:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return Spread(mean, 0.0, 1)
    variance = sum((value - mean) ** 2 for value in values) / (len(values) - 1)
    return Spread(mean, math.sqrt(variance), len(values))


def seed_spread(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Spread]]:
    """Per method (first-seen order, named by ``keys.method_names``), each metric's mean and
    spread over seeds."""
    runs = list(results)
    names = method_names(runs)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for key, value in run_metrics(run).items():
            values[method_name(run, names)][key].append(value)
    return {
        label: {key: _spread(series) for key, series in metrics.items()}
        for label, metrics in values.items()
    }


def render_markdown(spreads: Mapping[str, Mapping[str, Spread]]) -> str:
    """A Markdown table: one row per method, one column per metric some method has (``-`` where
    a method lacks it)."""
    columns = present_columns(spreads)
    header = "| method | seeds | " + " | ".join(COLUMNS[key] for key in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for label, metrics in spreads.items():
        seeds = max(spread.count for spread in metrics.values())
        cells = [metrics[key].render() if key in metrics else "-" for key in columns]
        lines.append(f"| {label} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def present_columns(spreads: Mapping[str, Mapping[str, Spread]]) -> list[str]:
    """The metric keys, in table order, that at least one method has."""
    return [key for key in COLUMNS if any(key in metrics for metrics in spreads.values())]
