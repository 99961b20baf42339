"""Print the Markdown results table (mean ± spread over seeds) of finished simulate runs.

    python scripts/results_table.py runs/grid/a0.1 [runs/grid/a1.0 ...] [--config DIGEST]
        [--baseline local --baseline fedavg]

Each folder is one `fedlora simulate --out` folder; every result JSON in it becomes one seed
of its method's row (methods told apart by all their parameters, not the label). Folders holding
more than one config (different schedules) need --config to pick one, so rows never mix
schedules. Each --baseline adds the paired differences of every method against it (average and
worst site, in accuracy and macro-F1 where recorded, and personalized adapters against the
baseline's own-site numbers; per seed, 95 % interval, per-seed sign).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fedlora.simulation.paired import paired_differences, render_paired_markdown
from fedlora.simulation.spread import render_markdown, seed_spread

# Average and worst site, in accuracy and (for runs that recorded it) macro-F1; then each
# method's personalized adapters against the baseline's models on the same sites' splits.
PAIRED = (
    ("avg", ""),
    ("min", ""),
    ("f1_avg", ""),
    ("f1_min", ""),
    ("pers_avg", "avg"),
    ("pers_min", "min"),
)


def load_results(folder: Path, digest: str | None) -> list[dict[str, Any]]:
    """Every result file in ``folder`` (of config ``digest`` when given), sorted by name."""
    results = [json.loads(path.read_text()) for path in sorted(folder.glob("*__seed*.json"))]
    if digest:
        results = [result for result in results if result["config_digest"] == digest]
    digests = {result["config_digest"] for result in results}
    if len(digests) > 1:
        raise SystemExit(f"{folder} holds configs {sorted(digests)}: pick one with --config")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="simulate --out folders")
    parser.add_argument("--config", help="config digest to keep (from the file names)")
    parser.add_argument("--baseline", action="append", default=[], help="method to pair against")
    options = parser.parse_args()
    for folder in options.folders:
        results = load_results(folder, options.config)
        if not results:
            print(f"{folder}: no result files", file=sys.stderr)
            return 1
        rounds = results[0]["config"]["rounds"]
        print(f"\n### {folder} ({rounds} rounds, config {results[0]['config_digest']})\n")
        print(render_markdown(seed_spread(results)))
        for baseline in options.baseline:
            pairs = [
                pair
                for metric, theirs in PAIRED
                for pair in paired_differences(results, baseline, metric, theirs)
            ]
            print(f"\nPaired differences vs {baseline}:\n")
            print(render_paired_markdown(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
