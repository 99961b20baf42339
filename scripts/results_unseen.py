"""Print the leave-one-site-out comparison: a federation's global adapter on the site it never
saw, against local-only models on sites they never saw, paired per seed.

    python scripts/results_unseen.py runs/loso runs/personalize [--method fedlora]

The first folder holds `simulate --leave-one-out` runs, the second the local-only runs (each
site's model tested on every site) of the same data: every config field but those that only
add measurements must match, or the script refuses. The ratio target of docs/results.md is the
unseen-site accuracy over local-only's off-site accuracy. Last, the same seed run twice: where
the second folder also holds the federated method, each seed's per-round accuracies of the two
runs are compared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from results_table import load_results

from fedlora.simulation.config import SimulationConfig
from fedlora.simulation.keys import group_by_method
from fedlora.simulation.paired import PairedDifference, render_paired_markdown
from fedlora.simulation.spread import run_metrics

# Config fields that add measurements to a run without changing its data or its training.
MEASUREMENT_ONLY = ("leave_one_out", "personalize_steps")


def data_config(run: dict[str, Any]) -> str:
    """The digest of the config fields that decide a run's data and training (the config's
    own digest, so fields added since a file was written count at their defaults)."""
    fields = {k: v for k, v in run["config"].items() if k not in MEASUREMENT_ONLY}
    return SimulationConfig(**fields).digest()


def by_seed(runs: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """One run per seed."""
    return {int(run["seed"]): run for run in runs}


def rerun_gap(first: dict[str, Any], second: dict[str, Any]) -> float:
    """Largest per-round, per-site accuracy difference of two runs, in points."""
    gaps = [
        abs(a["accuracy"][site] - b["accuracy"][site])
        for a, b in zip(first["rounds"], second["rounds"], strict=True)
        for site in a["accuracy"]
    ]
    return 100.0 * max(gaps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("unseen", type=Path, help="folder of simulate --leave-one-out runs")
    parser.add_argument("local", type=Path, help="folder holding the local-only runs")
    parser.add_argument("--method", default="fedlora", help="federated method (table name)")
    options = parser.parse_args()
    federated = by_seed(group_by_method(load_results(options.unseen, None))[options.method])
    others = group_by_method(load_results(options.local, None))
    local = by_seed(others["local"])
    seeds = sorted(set(federated) & set(local))
    if not seeds:
        print("no seed ran in both folders", file=sys.stderr)
        return 1
    if any(data_config(federated[s]) != data_config(local[s]) for s in seeds):
        print("the two folders' runs differ in data or schedule: not comparable", file=sys.stderr)
        return 1
    unseen = [run_metrics(federated[s])["unseen"] for s in seeds]
    off_site = [run_metrics(local[s])["off_site"] for s in seeds]
    print("| seed | global adapter, unseen site | local-only, other sites | ratio |")
    print("|---|---|---|---|")
    for seed, mine, theirs in zip(seeds, unseen, off_site, strict=True):
        print(f"| {seed} | {mine:.1f} | {theirs:.1f} | {mine / theirs:.2f}x |")
    ratio = statistics.fmean(unseen) / statistics.fmean(off_site)
    print(
        f"\nMeans: {statistics.fmean(unseen):.1f} vs {statistics.fmean(off_site):.1f}, "
        f"ratio {ratio:.2f}x (target >= 1.236x)\n"
    )
    diffs = tuple(a - b for a, b in zip(unseen, off_site, strict=True))
    pair = PairedDifference(options.method, "local", "unseen", tuple(seeds), diffs, "off_site")
    print(render_paired_markdown([pair]))
    twice = by_seed(others.get(options.method, []))
    for seed in sorted(set(twice) & set(federated)):
        gap = rerun_gap(federated[seed], twice[seed])
        print(f"\nseed {seed} run twice: largest per-round site difference {gap:.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
