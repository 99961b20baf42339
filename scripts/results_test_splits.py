"""Print how many ICD-10 categories and chapters each site's test split draws from (no model).

    python scripts/results_test_splits.py                      # seeds 0-4, Dirichlet 0.1, 3 sites
    python scripts/results_test_splits.py --sites 10 --alpha 1.0 --test-per-site 300

Codes of one 3-character category are near-duplicates, so a test split's number of distinct
categories, not its number of codes, bounds how many independent observations it holds. Each
row compares the two test draws (whole categories, or a few codes from many) on the partition
`fedlora simulate` would make with the same options.
"""

from __future__ import annotations

import argparse
import sys

from fedlora.data import FederatedData, PartitionSpec, load_icd10, partition


def _partition(options: argparse.Namespace, seed: int, draw: str) -> FederatedData:
    spec = PartitionSpec(
        kind="dirichlet",
        num_clients=options.sites,
        alpha=options.alpha,
        seed=seed,
        train_per_client=None,  # every training row, to count the categories a site holds
        test_per_client=options.test_per_site,
        global_test=options.global_test,
        test_draw=draw,
    )
    corpus = load_icd10(max_per_label=options.max_per_label or None, seed=seed)
    return partition(corpus, spec)


def _rows(options: argparse.Namespace, seed: int) -> list[str]:
    # The training cap is drawn after every test split, so test splits do not depend on it.
    whole, spread = (_partition(options, seed, draw) for draw in ("groups", "spread"))
    lines = []
    for site, other in zip(whole.clients, spread.clients, strict=True):
        held = {e.group for e in site.train + site.test}
        chapters = {e.label for e in site.train + site.test}
        cells = [
            seed,
            site.name,
            len(held),
            len(chapters),
            len({e.group for e in site.test}),
            len({e.group for e in other.test}),
            len({e.label for e in site.test}),
            len({e.label for e in other.test}),
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma list")
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--test-per-site", type=int, default=300)
    parser.add_argument("--global-test", type=int, default=200)
    parser.add_argument("--max-per-label", type=int, default=300, help="0: every code")
    options = parser.parse_args()
    print(
        f"Dirichlet {options.alpha}, {options.sites} sites, {options.test_per_site} test codes "
        f"per site, max {options.max_per_label} codes per chapter\n"
    )
    print(
        "| seed | site | categories held | chapters held | test categories, whole | "
        "test categories, spread | test chapters, whole | test chapters, spread |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for seed in (int(value) for value in options.seeds.split(",")):
        print("\n".join(_rows(options, seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
