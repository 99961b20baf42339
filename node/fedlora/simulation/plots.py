"""PNG plots of simulation results: convergence per round, per-site accuracy per method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers

import matplotlib.pyplot as plt

from fedlora.simulation.keys import group_by_method


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def plot_convergence(results: list[dict[str, Any]], path: Path) -> Path:
    """Average and worst-site accuracy after each round, one line pair per method (seed mean)."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for label, runs in group_by_method(results).items():
        rounds = min(len(run["rounds"]) for run in runs)
        x = list(range(rounds))
        for axis, metric in zip(axes, ("avg", "min"), strict=True):
            y = [
                _mean([run["rounds"][r]["summary"][metric] for run in runs]) for r in range(rounds)
            ]
            axis.plot([r + 1 for r in x], [100 * v for v in y], marker="o", label=label)
    for axis, title in zip(axes, ("average over sites", "worst site"), strict=True):
        axis.set_title(f"Accuracy, {title}")
        axis.set_xlabel("round (equal local steps per round)")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_sites(results: list[dict[str, Any]], path: Path) -> Path:
    """Final accuracy of each site, grouped bars per method (seed mean)."""
    grouped = group_by_method(results)
    sites = sorted({site for run in results for site in run["final"]["per_site"]})
    figure, axis = plt.subplots(figsize=(max(6, 1.6 * len(grouped) * len(sites) / 2), 4))
    width = 0.8 / max(1, len(sites))
    for site_index, site in enumerate(sites):
        heights = [
            100 * _mean([run["final"]["per_site"].get(site, 0.0) for run in runs])
            for runs in grouped.values()
        ]
        positions = [i + site_index * width for i in range(len(grouped))]
        axis.bar(positions, heights, width=width, label=site)
    axis.set_xticks([i + 0.4 - width / 2 for i in range(len(grouped))], list(grouped), fontsize=8)
    axis.set_ylabel("final accuracy on the site's own test split (%)")
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
