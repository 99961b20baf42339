"""Print the Markdown accuracy-against-epsilon table of finished DP simulate runs.

    python scripts/results_privacy.py runs/dp/eps1 runs/dp/eps3 runs/dp/eps8 runs/dp/epsnone

Each folder is one `fedlora simulate --out` folder of one privacy setting (the same schedule
and seeds, one method). Rows are named by the epsilon each run was calibrated to, or its noise
multiplier where it was given one (from the `privacy` record the run wrote; `no DP` where it has
none), so the shared method label does not merge them. Below the table: each private row's
paired differences against the non-private row, per seed, with the 95 % interval and the
per-seed signs, and the epsilon every site spent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from results_table import load_results

from fedlora.simulation.paired import paired_differences, render_paired_markdown
from fedlora.simulation.spread import render_markdown, seed_spread

NO_DP = "no DP"


def privacy_label(run: dict[str, Any]) -> str:
    """The row a run belongs to: the epsilon it was calibrated to, or for a run given a noise
    multiplier instead, that multiplier (its epsilon, spent, is in the summary below)."""
    privacy = run.get("privacy") or {}
    if not privacy:
        return NO_DP
    target = privacy.get("epsilon_target")
    return f"noise {privacy['noise_multiplier']:g}" if target is None else f"epsilon {target:g}"


def relabelled(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with its method's label replaced by its privacy row (a copy; files untouched)."""
    return {**run, "method": {**run["method"], "label": privacy_label(run)}}


def spent_summary(runs: list[dict[str, Any]]) -> str:
    """One line per private setting: noise multiplier and the most any site spent."""
    lines = []
    for run in runs:
        privacy = run.get("privacy")
        if privacy:
            spent = max(privacy["epsilon_spent"].values())
            lines.append(
                f"- {privacy_label(run)}, seed {run['seed']}: noise multiplier "
                f"{privacy['noise_multiplier']:.3f}, clip {privacy['clip_norm']}, "
                f"delta {privacy['delta']:g}, most spent by a site {spent:.3f}"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="simulate --out folders")
    options = parser.parse_args()
    runs = [relabelled(run) for folder in options.folders for run in load_results(folder, None)]
    if not runs:
        print("no result files in the folders given", file=sys.stderr)
        return 1
    print(render_markdown(seed_spread(runs)))
    if any(privacy_label(run) == NO_DP for run in runs):
        pairs = [
            pair for metric in ("avg", "min") for pair in paired_differences(runs, NO_DP, metric)
        ]
        print(f"\nPaired differences vs {NO_DP}:\n")
        print(render_paired_markdown(pairs))
    print(f"\nPrivacy spent:\n\n{spent_summary(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
