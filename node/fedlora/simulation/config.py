"""What one simulated experiment is: data, schedule, model, and the methods to compare."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedlora.aggregation import STRATEGIES, StrategyConfig, strategy_from_name
from fedlora.data import (
    TEST_DRAWS,
    FederatedData,
    PartitionSpec,
    load_drug_reviews,
    load_icd10,
    load_table,
    partition,
)
from fedlora.errors import FedloraError
from fedlora.simulation.keys import method_digest

BASELINES = ("local", "centralized")


@dataclass(frozen=True)
class SimulationConfig:
    """Everything but the method and the seed; hashed to name result files.

    Compute is equal across methods: every method runs ``rounds * local_steps`` steps per
    site (centralized: that many times ``num_sites`` on the pooled data).
    """

    dataset: str = "icd10"
    text_column: str = "text"
    label_column: str = "label"
    site_column: str | None = None
    max_per_label: int | None = 300
    partition: str = "dirichlet"
    alpha: float = 0.1
    num_sites: int = 3
    train_per_site: int | None = 250
    test_per_site: int = 100
    global_test: int = 200
    # "spread": each site's test split takes a few codes from many categories (more
    # independent test rows) instead of whole categories ("groups").
    test_draw: str = "groups"
    # > 0: every site is scored on a validation split of this many rows (groups no split
    # trains or tests on) instead of its test split, and there is no global test: for
    # choosing settings without ever looking at a test split.
    validation_per_site: int = 0
    rounds: int = 10
    local_steps: int = 20
    batch_size: int = 8
    lr: float = 5e-4
    model: str = "smollm2"
    rank: int = 8
    lora_alpha: int = 16
    top_layers: int | None = 8
    bf16: bool = False
    # After the last round each site fine-tunes the global adapter this many steps on its own
    # data (a personal adapter that never leaves the site); 0: no personalization.
    personalize_steps: int = 0
    # Also federate without each site in turn and test on the unseen site (N more runs).
    leave_one_out: bool = False
    # DP-SGD at every site (simulation.privacy): a target epsilon, from which the noise
    # multiplier is derived for the planned steps, or the noise multiplier itself; both None:
    # no DP. Delta and the per-example clipping norm apply with either.
    dp_epsilon: float | None = None
    dp_noise_multiplier: float | None = None
    dp_delta: float = 1e-5
    dp_clip_norm: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rounds", "local_steps", "batch_size", "num_sites", "rank"):
            if getattr(self, name) < 1:
                raise FedloraError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.validation_per_site < 0:
            raise FedloraError(f"validation_per_site must be >= 0, got {self.validation_per_site}")
        if self.personalize_steps < 0:
            raise FedloraError(f"personalize_steps must be >= 0, got {self.personalize_steps}")
        if not self.lr > 0:
            raise FedloraError(f"lr must be > 0, got {self.lr}", "use e.g. 5e-4")
        if self.test_draw not in TEST_DRAWS:
            raise FedloraError(f"unknown test draw {self.test_draw!r}", "use groups or spread")
        self._check_privacy()

    def _check_privacy(self) -> None:
        if self.dp_epsilon is not None and self.dp_noise_multiplier is not None:
            raise FedloraError(
                "give --dp-epsilon or --dp-noise-multiplier, not both",
                "the noise multiplier is derived from the epsilon",
            )
        for name in ("dp_epsilon", "dp_noise_multiplier", "dp_clip_norm"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise FedloraError(f"{name} must be a finite number > 0, got {value}")
        if not 0 < self.dp_delta < 1:
            raise FedloraError(f"dp_delta must be in (0, 1), got {self.dp_delta}", "use 1e-5")

    def digest(self) -> str:
        """Short stable hash of every field (the dataset path as given).

        A field left at its default (personalize_steps, leave_one_out, test_draw,
        validation_per_site, and the dp_ fields without DP) is left out, so configs written
        before the field existed keep their digest and their result files.
        """
        fields = dataclasses.asdict(self)
        defaults = (
            ("personalize_steps", 0),
            ("leave_one_out", False),
            ("test_draw", "groups"),
            ("validation_per_site", 0),
        )
        for name, off in defaults:
            if fields[name] == off:
                del fields[name]
        if self.dp_epsilon is None and self.dp_noise_multiplier is None:
            for name in ("dp_epsilon", "dp_noise_multiplier", "dp_delta", "dp_clip_norm"):
                del fields[name]
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class MethodSpec:
    """A method to run: a baseline (local, centralized) or a federated strategy."""

    label: str
    strategy: StrategyConfig | None

    def describe(self) -> dict[str, Any]:
        """JSON-able description for result files."""
        strategy = dataclasses.asdict(self.strategy) if self.strategy else None
        return {"label": self.label, "strategy": strategy}

    def digest(self) -> str:
        """Short stable hash of the label and every strategy parameter."""
        return method_digest(self.describe())


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``key=value`` strings into StrategyConfig overrides (numbers parsed as floats)."""
    fields = {field.name: field for field in dataclasses.fields(StrategyConfig)}
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in fields or key == "name":
            known = ", ".join(sorted(set(fields) - {"name"}))
            raise FedloraError(f"bad --set {pair!r}", f"use KEY=VALUE with KEY one of {known}")
        if fields[key].type in ("float", float):
            try:
                overrides[key] = float(value)
            except ValueError:
                raise FedloraError(f"--set {key} needs a number, got {value!r}") from None
        else:
            overrides[key] = value.strip()
    return overrides


def method_specs(names: list[str], overrides: dict[str, Any]) -> list[MethodSpec]:
    """Resolve method names; overrides apply to every strategy except the ``fedavg`` baseline.

    The label records the overrides (``fedlora+lora_mode=fedit``), so ablations never
    overwrite each other's result files.
    """
    if not names:
        raise FedloraError("no methods given", "use e.g. --methods local,fedavg,fedlora")
    specs = []
    for name in names:
        if name in BASELINES:
            specs.append(MethodSpec(name, None))
        elif name in STRATEGIES:
            extra = {} if name == "fedavg" else overrides
            suffix = "".join(f"+{key}={value}" for key, value in sorted(extra.items()))
            specs.append(MethodSpec(name + suffix, strategy_from_name(name, **extra)))
        else:
            known = ", ".join((*BASELINES, *STRATEGIES))
            raise FedloraError(f"unknown method {name!r}", f"choose from {known}")
    return specs


def load_federated_data(config: SimulationConfig, seed: int) -> FederatedData:
    """Load the corpus and partition it across sites with ``seed`` (with a validation split
    in place of each test split when the config asks for one)."""
    if config.dataset == "icd10":
        corpus = load_icd10(max_per_label=config.max_per_label, seed=seed)
    elif config.dataset == "drugreview":
        corpus = load_drug_reviews()
    else:
        path = Path(config.dataset)
        if not path.is_file():
            raise FedloraError(
                f"dataset {path} not found", "give 'icd10', 'drugreview' or a CSV/JSONL file"
            )
        corpus = load_table(
            path,
            text_column=config.text_column,
            label_column=config.label_column,
            site_column=config.site_column,
        )
    spec = PartitionSpec(
        kind=config.partition,
        num_clients=config.num_sites,
        alpha=config.alpha,
        seed=seed,
        train_per_client=config.train_per_site,
        test_per_client=config.test_per_site,
        global_test=config.global_test,
        test_draw=config.test_draw,
        validation_per_client=config.validation_per_site,
    )
    data = partition(corpus, spec)
    if not config.validation_per_site:
        return data
    # Tuning: the validation split stands in for the test split, which is never scored.
    clients = tuple(dataclasses.replace(c, test=c.validation) for c in data.clients)
    return dataclasses.replace(data, clients=clients, global_test=())
