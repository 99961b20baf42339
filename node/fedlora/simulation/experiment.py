"""A grid of (method, seed) runs over one config, saved one JSON per run so reruns resume."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedlora.data import FederatedData
from fedlora.errors import FedloraError
from fedlora.evaluation import majority_macro_f1, majority_rate, summarize, summary_to_dict
from fedlora.fileio import write_json_atomic
from fedlora.simulation.config import MethodSpec, SimulationConfig, load_federated_data
from fedlora.simulation.keys import method_digest
from fedlora.simulation.runner import Progress, RunContext, SilentProgress, run_method


@dataclass(frozen=True)
class RunOutcome:
    """One finished run and whether it was loaded from an earlier invocation."""

    path: Path
    result: dict[str, Any]
    resumed: bool


def result_path(out_dir: Path, config: SimulationConfig, spec: MethodSpec, seed: int) -> Path:
    """File of one (method, config, seed).

    The method's hash covers every strategy parameter and the config's hash every config field,
    so two methods that share a label, or one method under two configs, never share a file.
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_.=+" else "_" for ch in spec.label)
    return out_dir / f"{safe}__{spec.digest()}__{config.digest()}__seed{seed}.json"


def _load_finished(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # unreadable: run it again and overwrite
    return loaded


def run_experiment(
    config: SimulationConfig,
    specs: list[MethodSpec],
    seeds: list[int],
    out_dir: Path,
    progress: Progress | None = None,
) -> list[RunOutcome]:
    """Run every (method, seed) not already saved in ``out_dir``; return all outcomes.

    Parameters
    ----------
    config
        Data, schedule and model shared by all runs.
    specs, seeds
        The grid to cover.
    out_dir
        Where result JSON files live; existing ones are reused, not recomputed.
    progress
        Progress sink (default: silent).

    Returns
    -------
    list of RunOutcome
        In (seed, method) order.
    """
    if not seeds:
        raise FedloraError("no seeds given", "use e.g. --seeds 0")
    outcomes = []
    for seed in seeds:
        pending = []
        for spec in specs:
            path = result_path(out_dir, config, spec, seed)
            finished = _load_finished(path)
            # A preset whose parameters changed since the file was written is a different
            # method under the same name: run it again rather than report stale numbers.
            if finished is not None and finished.get("method") != _json_round_trip(spec.describe()):
                finished = None
            if finished is None:
                pending.append((spec, path))
            else:
                outcomes.append(RunOutcome(path, finished, resumed=True))
        if not pending:
            continue
        # Partition once per seed; every method of that seed sees the same sites.
        data = load_federated_data(config, seed)
        context = RunContext(config, seed, data, progress or SilentProgress())
        partition_facts = describe_partition(data)
        for spec, path in pending:
            result = run_method(context, spec)
            result.update(partition_facts)
            result["config"] = dataclasses.asdict(config)
            result["config_digest"] = config.digest()
            write_json_atomic(path, result)
            outcomes.append(RunOutcome(path, result, resumed=False))
    order = {(spec.digest(), seed): i for i, (spec, seed) in enumerate(_grid(specs, seeds))}
    return sorted(
        outcomes, key=lambda o: order[(method_digest(o.result["method"]), o.result["seed"])]
    )


def describe_partition(data: FederatedData) -> dict[str, Any]:
    """What a run's numbers must be read against: each site's split sizes, how the split
    departs from what was asked (a small site's shorter test split), and the scores of always
    answering each site's commonest training label (accuracy and macro-F1 on its test split)."""
    rate, f1, sizes = {}, {}, {}
    for client in data.clients:
        train = [example.label for example in client.train]
        test = [example.label for example in client.test]
        rate[client.name] = majority_rate(train, test)
        f1[client.name] = majority_macro_f1(train, test)
        sizes[client.name] = {"train": len(train), "test": len(test)}
    return {
        "split_sizes": sizes,
        "partition_notes": list(data.notes),
        "majority_class": {
            "accuracy": summary_to_dict(summarize(rate)),
            "macro_f1": summary_to_dict(summarize(f1)),
        },
    }


def _json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _grid(specs: list[MethodSpec], seeds: list[int]) -> list[tuple[MethodSpec, int]]:
    return [(spec, seed) for seed in seeds for spec in specs]
