"""Plain data records shared by loaders, partitioners and the trainer (no torch)."""

from __future__ import annotations

import string
from dataclasses import dataclass

from fedlora.errors import FedloraError

MAX_LABELS = 26
PARTITION_KINDS = ("natural", "dirichlet", "quantity", "iid")
# How a client's test split takes rows from its groups: "groups" takes whole groups (the
# default), "spread" a few rows from each of many groups (see groups.pick_spread_rows).
TEST_DRAWS = ("groups", "spread")


class DataError(FedloraError):
    """A corpus or partition request that cannot be satisfied."""


@dataclass(frozen=True)
class Example:
    """One labelled text.

    Attributes
    ----------
    text : str
        The input shown to the model.
    label : int
        Index into the corpus' ``label_names``.
    group : str
        Near-duplicates share a group (ICD-10-CM: the 3-character category); a group never
        straddles a train/test split.
    site : str
        The institution the row naturally belongs to (for natural partitions).
    """

    text: str
    label: int
    group: str = ""
    site: str = ""


@dataclass(frozen=True)
class LabeledCorpus:
    """A classification corpus: the instruction, the label names and the examples."""

    name: str
    instruction: str
    label_names: tuple[str, ...]
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class PartitionSpec:
    """How to split a corpus across clients.

    Attributes
    ----------
    kind : str
        "natural" (by site column), "dirichlet" (label skew), "quantity" (size skew) or "iid".
    num_clients : int
        Number of clients (for "natural": must equal the number of distinct sites).
    alpha : float
        Dirichlet concentration for "dirichlet" and "quantity"; smaller is more skewed.
    seed : int
        Seed of every random choice.
    train_per_client : int or None
        Cap on each client's training rows (a seeded sample), None keeps all.
    test_per_client : int
        Rows in each client's own test split.
    global_test : int
        Rows in the global test split (held out before clients are formed).
    test_draw : str
        "groups" (whole groups until the quota is met) or "spread" (as many groups as a client
        can spare, few rows each: more independent test rows, fewer training groups).
    validation_per_client : int
        Rows in each client's validation split (0: none), drawn like its test split from
        groups that no split trains or tests on; for choosing settings without a test split.
    """

    kind: str
    num_clients: int
    alpha: float = 0.5
    seed: int = 0
    train_per_client: int | None = None
    test_per_client: int = 100
    global_test: int = 200
    test_draw: str = "groups"
    validation_per_client: int = 0

    def __post_init__(self) -> None:
        if self.test_draw not in TEST_DRAWS:
            raise DataError(
                f"unknown test draw {self.test_draw!r}", f"use one of {', '.join(TEST_DRAWS)}"
            )
        if self.kind not in PARTITION_KINDS:
            raise DataError(
                f"unknown partition kind {self.kind!r}", f"use one of {', '.join(PARTITION_KINDS)}"
            )
        if self.num_clients < 1:
            raise DataError(f"num_clients={self.num_clients} is invalid", "use at least 1")
        if not self.alpha > 0:
            raise DataError(f"alpha={self.alpha} is invalid", "use a Dirichlet alpha > 0")
        if self.train_per_client is not None and self.train_per_client < 1:
            raise DataError(
                f"train_per_client={self.train_per_client} is invalid", "use >= 1 or None"
            )
        if self.test_per_client < 1:
            raise DataError(f"test_per_client={self.test_per_client} is invalid", "use >= 1")
        if self.global_test < 0:
            raise DataError(f"global_test={self.global_test} is invalid", "use >= 0")
        if self.validation_per_client < 0:
            raise DataError(
                f"validation_per_client={self.validation_per_client} is invalid", "use >= 0"
            )


@dataclass(frozen=True)
class ClientData:
    """One client's private rows: its training split, its own test split and, when asked
    for, a validation split (disjoint groups from both)."""

    name: str
    train: tuple[Example, ...]
    test: tuple[Example, ...]
    validation: tuple[Example, ...] = ()


@dataclass(frozen=True)
class FederatedData:
    """A corpus split across clients, plus a global test split no client trains on.

    ``notes`` states every way the split departs from what was asked (a site too small for the
    requested test split gets a smaller one), one sentence each, for the run's report.
    """

    corpus: str
    instruction: str
    label_names: tuple[str, ...]
    clients: tuple[ClientData, ...]
    global_test: tuple[Example, ...]
    notes: tuple[str, ...] = ()


def answer_token(label: int) -> str:
    """Return the answer the model is scored on for ``label``: " A" for 0, " B" for 1, ...

    Raises
    ------
    DataError
        For a label outside 0..25.
    """
    if not 0 <= label < MAX_LABELS:
        raise DataError(f"label {label} has no answer letter", f"at most {MAX_LABELS} labels")
    return " " + string.ascii_uppercase[label]


def answer_tokens(num_labels: int) -> tuple[str, ...]:
    """Return the answer strings of labels ``0..num_labels-1`` (" A", " B", ...).

    Raises
    ------
    DataError
        For fewer than 1 or more than 26 labels.
    """
    if not 1 <= num_labels <= MAX_LABELS:
        raise DataError(
            f"{num_labels} labels cannot be answered with one letter each",
            f"use between 1 and {MAX_LABELS} labels",
        )
    return tuple(answer_token(label) for label in range(num_labels))
