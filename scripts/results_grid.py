"""Run the results table of docs/results.md: every skew, seed and method, several at a time.

Each cell is one `fedlora simulate` invocation (one skew, one seed, one method), so cells can
run in parallel and a stopped grid resumes: simulate skips every result file already written.
Cells run in priority order (strongest skew first, then its ablation, then the milder skews),
so a grid cut short still leaves the most important rows complete.

    python scripts/results_grid.py --jobs 12               # on a GPU machine
    python scripts/results_grid.py --jobs 1 --only a0.1    # one skew on a laptop
    python scripts/results_grid.py --dry-run               # print the commands

When every cell has finished, one report invocation per skew (and per ablation variant) prints
the tables and writes convergence.png and sites.png into runs/grid/<skew>/.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

# The schedule and data shared by every cell (docs/results.md, "Setup").
COMMON = (
    "--model smollm2 --dataset icd10 --sites 3 --train-per-site 250 --test-per-site 100 "
    "--global-test 200 --local-steps 20 --batch 8 --top-layers 4 --lr 2e-3"
)
SKEWS = {
    "a0.1": "--partition dirichlet --alpha 0.1",
    "a1.0": "--partition dirichlet --alpha 1.0",
    "iid": "--partition iid",
}
MAIN_METHODS = ("fedavg", "fedlora", "local", "centralized")
# Leave-one-out ablation of the fedlora preset: each switches one component off.
ABLATIONS = ("server_optimizer=none", "fairness_q=0", "proximal_mu=0")


@dataclass(frozen=True)
class Cell:
    """One simulate invocation: a skew, seeds and methods (comma lists), optional overrides."""

    skew: str
    seeds: str
    method: str
    override: str = ""

    @property
    def name(self) -> str:
        suffix = f"+{self.override}" if self.override else ""
        return f"{self.skew}-seed{self.seeds}-{self.method}{suffix}"

    def arguments(self, rounds: int, out: Path, extra: str = "") -> list[str]:
        # Later options win, so ``extra`` can change anything in COMMON (e.g. --model tiny).
        args = [*shlex.split(COMMON), *shlex.split(SKEWS[self.skew]), "--rounds", str(rounds)]
        args += shlex.split(extra)
        args += ["--seeds", self.seeds, "--methods", self.method, "--out", str(out / self.skew)]
        if self.override:
            args += ["--set", self.override]
        return args


def build_grid(seeds: list[str], only: str | None) -> list[Cell]:
    """Cells in priority order; ``only`` keeps the cells of one skew."""
    cells = [Cell("a0.1", seed, method) for seed in seeds for method in MAIN_METHODS]
    cells += [Cell("a0.1", seed, "fedlora", change) for change in ABLATIONS for seed in seeds]
    for skew in ("a1.0", "iid"):
        cells += [Cell(skew, seed, method) for seed in seeds for method in MAIN_METHODS]
    return [cell for cell in cells if only is None or cell.skew == only]


def run_cell(
    cell: Cell, command: list[str], options: argparse.Namespace
) -> tuple[Cell, int, float]:
    """Run one cell, its output in out/logs/<cell>.log; return its exit code and wall time."""
    log_path = options.out / "logs" / f"{cell.name}.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        argv = [*command, *cell.arguments(options.rounds, options.out, options.extra), "--no-plot"]
        code = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    return cell, code, time.monotonic() - started


def report(cells: list[Cell], command: list[str], options: argparse.Namespace) -> None:
    """One resumed invocation per (skew, override): prints tables, writes the plots."""
    groups: dict[tuple[str, str], set[str]] = {}
    for cell in cells:
        groups.setdefault((cell.skew, cell.override), set()).add(cell.method)
    seeds = ",".join(sorted({cell.seeds for cell in cells}, key=int))
    for (skew, override), methods in groups.items():
        cell = Cell(skew, seeds, ",".join(sorted(methods)), override)
        base = cell.arguments(options.rounds, options.out, options.extra)
        # Plots come from the main methods only; the ablation variants share the folder.
        subprocess.run([*command, *base, "--no-plot" if override else "--plot"], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="cells run at once")
    parser.add_argument("--rounds", type=int, default=20, help="federated rounds per cell")
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds")
    parser.add_argument("--only", choices=sorted(SKEWS), help="run one skew only")
    parser.add_argument("--out", type=Path, default=Path("runs/grid"), help="result folder")
    parser.add_argument("--simulate", default="fedlora simulate", help="the simulate command")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per cell")
    parser.add_argument("--extra", default="", help="more simulate options, e.g. '--model tiny'")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    options = parser.parse_args()
    if options.jobs < 1:
        parser.error("--jobs must be >= 1")
    seeds = [str(int(seed)) for seed in options.seeds.split(",") if seed.strip()]
    cells = build_grid(seeds, options.only)
    command = shlex.split(options.simulate)
    if options.dry_run:
        for cell in cells:
            arguments = cell.arguments(options.rounds, options.out, options.extra)
            print(shlex.join([*command, *arguments]))
        return 0
    (options.out / "logs").mkdir(parents=True, exist_ok=True)
    # Cells run side by side, so each keeps to its share of the cores.
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(options.threads)
    failed = 0
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = [pool.submit(run_cell, cell, command, options) for cell in cells]
        for done, future in enumerate(as_completed(futures), start=1):
            cell, code, seconds = future.result()
            failed += code != 0
            status = "ok" if code == 0 else f"FAILED (exit {code}, see logs/{cell.name}.log)"
            stamp = time.strftime("%H:%M:%S")
            print(f"{stamp} [{done}/{len(cells)}] {cell.name} {seconds:.0f} s {status}", flush=True)
    report(cells, command, options)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
