"""Tables and plots over finished runs (averaged over seeds)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from fedlora.evaluation import (
    SiteSummary,
    cross_generalization,
    format_bytes,
    render_cross_table,
    render_table,
    summarize,
)
from fedlora.simulation.keys import group_by_method
from fedlora.simulation.paired import paired_differences
from fedlora.simulation.plots import plot_convergence, plot_sites
from fedlora.simulation.spread import COLUMNS, present_columns, seed_spread

PAIRED_BASELINES = ("local", "fedavg")
PAIRED_METRICS = ("avg", "min")
# The row of always answering each site's commonest training label, under the methods (short,
# so a narrow terminal does not cut it; the tables' caption spells it out).
MAJORITY_ROW = "majority"
MAJORITY_CAPTION = "majority: always answer the site's commonest training label"


def _mean_per_site(runs: list[dict[str, Any]], *path: str) -> dict[str, float] | None:
    """Seed mean of each site's value in ``run[path...]["per_site"]``; None if a run lacks it."""
    tables = []
    for run in runs:
        node: Any = run
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
        tables.append(node["per_site"])
    return {site: sum(table[site] for table in tables) / len(tables) for site in tables[0]}


def _summaries(grouped: dict[str, list[dict[str, Any]]], *path: str) -> dict[str, SiteSummary]:
    """Each method's seed-mean summary of ``run[path...]``, then the majority-class baseline's
    (the same for every method of a seed: it depends on the partition only). Methods whose runs
    lack the numbers (written before they existed) are left out."""
    means = {label: _mean_per_site(runs, *path) for label, runs in grouped.items()}
    baseline = "macro_f1" if path == ("final_macro_f1",) else "accuracy"
    per_seed: dict[int, dict[str, Any]] = {}
    for runs in grouped.values():
        for run in runs:
            if "majority_class" in run:
                per_seed.setdefault(run["seed"], run)
    seeds = {run["seed"] for runs in grouped.values() for run in runs}
    if per_seed and set(per_seed) == seeds:
        means[MAJORITY_ROW] = _mean_per_site(list(per_seed.values()), "majority_class", baseline)
    return {label: summarize(mean) for label, mean in means.items() if mean is not None}


def _mean_matrix(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    matrix: dict[str, dict[str, float]] = defaultdict(dict)
    for model_site, row in runs[0]["matrix"].items():
        for test_site in row:
            values = [run["matrix"][model_site][test_site] for run in runs]
            matrix[model_site][test_site] = sum(values) / len(values)
    return dict(matrix)


def print_tables(results: list[dict[str, Any]], console: Console) -> None:
    """Notes on the split, per-method Avg/Min/H-mean tables of accuracy and macro-F1 (each with
    the majority-class row), the local cross-site matrix, and bytes per round."""
    grouped = group_by_method(results)
    seeds = sorted({run["seed"] for run in results})
    for note in dict.fromkeys(n for run in results for n in run.get("partition_notes", [])):
        console.print(f"note: {note}", markup=False, highlight=False)
    for metric, path in (("accuracy", "final"), ("macro-F1", "final_macro_f1")):
        summaries = _summaries(grouped, path)
        if set(summaries) - {MAJORITY_ROW}:
            caption = MAJORITY_CAPTION if MAJORITY_ROW in summaries else None
            title = f"Final {metric} per site (seeds {seeds})"
            console.print(render_table(summaries, title=title, caption=caption))
    if len(seeds) > 1:
        console.print(_spread_table(results))
        for baseline in PAIRED_BASELINES:
            if baseline in grouped:
                console.print(_paired_table(results, baseline))
    local = grouped.get("local")
    if local:
        matrix = _mean_matrix(local)
        console.print(render_cross_table(matrix, cross_generalization(matrix)))
    for label, runs in grouped.items():
        traffic = runs[0]["rounds"][-1].get("bytes")
        if traffic:
            console.print(f"{label}: {format_bytes(traffic['total'])} sent per round")


def write_plots(results: list[dict[str, Any]], out: Path) -> list[Path]:
    """Write convergence.png and sites.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        plot_convergence(results, out / "convergence.png"),
        plot_sites(results, out / "sites.png"),
    ]


def _spread_table(results: list[dict[str, Any]]) -> Table:
    """Mean ± standard deviation over seeds (worst site taken per seed, then averaged)."""
    table = Table(title="Mean ± std over seeds (%)")
    spreads = seed_spread(results)
    columns = present_columns(spreads)
    for header in ("method", *(COLUMNS[key] for key in columns)):
        table.add_column(header, justify="left" if header == "method" else "right")
    for label, metrics in spreads.items():
        cells = [metrics[key].render() if key in metrics else "-" for key in columns]
        table.add_row(label, *cells)
    return table


def _paired_table(results: list[dict[str, Any]], baseline: str) -> Table:
    """Each method minus ``baseline``, seed by seed: mean, 95 % interval, per-seed signs."""
    table = Table(title=f"Paired differences vs {baseline}, points [95 % CI], per-seed sign")
    for header in ("method", *(COLUMNS[metric] for metric in PAIRED_METRICS)):
        table.add_column(header, justify="left" if header == "method" else "right")
    rows: dict[str, list[str]] = {}
    for metric in PAIRED_METRICS:
        for pair in paired_differences(results, baseline, metric):
            rows.setdefault(pair.method, []).append(pair.render())
    for method, cells in rows.items():
        table.add_row(method, *cells)
    return table
