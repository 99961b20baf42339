"""Split a corpus across clients: natural, Dirichlet label skew, quantity skew or IID.

Order of work, all driven by one seeded numpy Generator:
1. hold out a global test split (whole groups, following the corpus' label mix);
2. give every remaining group to one client (natural: every row to its site);
3. per client, draw its own test split by whole groups from its own label mix; rows of a
   group used for any test split never train anywhere. A client (natural: a site) holding
   fewer than 2 x test_per_client rows is kept, with half its rows as test split, and a note
   says so: a small hospital is never dropped, and never silently;
4. optionally cap each client's training rows with a seeded sample;
5. optionally draw each client's validation split, from groups no split uses, with a generator
   of its own (every other split stays as it was without one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from fedlora.data.groups import (
    group_key,
    groups_by_label,
    pick_spread_rows,
    pick_test_rows,
    rows_by_group,
)
from fedlora.data.types import (
    MAX_LABELS,
    ClientData,
    DataError,
    Example,
    FederatedData,
    LabeledCorpus,
    PartitionSpec,
)

# Label- and quantity-skew draws are repeated until every client holds enough rows.
MAX_DRAWS = 100
_HINT = "use a smaller test_per_client, more data (max_per_label), fewer clients or a larger alpha"


def _check_corpus(corpus: LabeledCorpus) -> None:
    if not corpus.examples:
        raise DataError(f"corpus {corpus.name!r} holds no examples", "load a non-empty corpus")
    if not 1 <= len(corpus.label_names) <= MAX_LABELS:
        raise DataError(
            f"corpus {corpus.name!r} has {len(corpus.label_names)} labels",
            f"use between 1 and {MAX_LABELS} labels",
        )
    for example in corpus.examples:
        if not 0 <= example.label < len(corpus.label_names):
            raise DataError(
                f"example {example.text[:40]!r} has label {example.label}, "
                f"outside 0..{len(corpus.label_names) - 1}",
                "fix the corpus labels",
            )


def _client_names(count: int) -> list[str]:
    width = len(str(count - 1))
    return [f"client-{index:0{width}d}" for index in range(count)]


def _natural_clients(
    examples: Sequence[Example], rows: Sequence[int], spec: PartitionSpec
) -> list[tuple[str, list[int]]]:
    """Each site's rows among ``rows`` (what the global test split left); the sites are those
    of the whole corpus, so a site the global split emptied is named, not lost."""
    if any(not example.site for example in examples):
        raise DataError(
            "a natural partition needs a site for every row, some rows have none",
            "load the corpus with site_column=... or use kind='dirichlet'",
        )
    sites = sorted({example.site for example in examples})
    if len(sites) != spec.num_clients:
        raise DataError(
            f"the corpus has {len(sites)} sites ({', '.join(sites[:6])}), "
            f"but num_clients={spec.num_clients}",
            f"set num_clients={len(sites)} for a natural partition",
        )
    clients = [(site, [row for row in rows if examples[row].site == site]) for site in sites]
    for site, site_rows in clients:
        if not site_rows:
            raise DataError(
                f"site {site} lost all its rows to the global test split (global_test="
                f"{spec.global_test})",
                "use a smaller global_test (0 keeps every row at its site)",
            )
    return clients


def _proportions(spec: PartitionSpec, num_labels: int, rng: np.random.Generator) -> np.ndarray:
    """Return a (labels x clients) matrix of the share of each label each client gets."""
    clients = spec.num_clients
    if spec.kind == "dirichlet":
        return rng.dirichlet(np.full(clients, spec.alpha), size=num_labels)
    if spec.kind == "quantity":
        return np.tile(rng.dirichlet(np.full(clients, spec.alpha)), (num_labels, 1))
    return np.full((num_labels, clients), 1.0 / clients)


def _deal_groups(
    grouped: dict[str, list[int]],
    by_label: dict[int, list[str]],
    proportions: np.ndarray,
    rng: np.random.Generator,
) -> list[list[int]]:
    """Give each label's groups (in seeded order) to clients by cumulative row share."""
    per_client: list[list[int]] = [[] for _ in range(proportions.shape[1])]
    for label_index, keys in enumerate(by_label.values()):
        order = [keys[int(i)] for i in rng.permutation(len(keys))]
        sizes = np.array([len(grouped[key]) for key in order], dtype=np.float64)
        # Each group goes to the client whose share interval holds the group's midpoint.
        midpoints = (np.cumsum(sizes) - sizes / 2) / sizes.sum()
        bounds = np.cumsum(proportions[label_index])
        owners = np.minimum(np.searchsorted(bounds, midpoints, side="right"), len(bounds) - 1)
        for key, owner in zip(order, owners, strict=True):
            per_client[int(owner)].extend(grouped[key])
    return [sorted(rows) for rows in per_client]


def _skewed_clients(
    examples: Sequence[Example], rows: Sequence[int], spec: PartitionSpec, rng: np.random.Generator
) -> list[tuple[str, list[int]]]:
    grouped = rows_by_group(examples, rows)
    by_label = groups_by_label(examples, grouped)
    needed = 2 * spec.test_per_client
    smallest = (0, "")
    for _ in range(MAX_DRAWS if spec.kind in ("dirichlet", "quantity") else 1):
        proportions = _proportions(spec, len(by_label), rng)
        per_client = _deal_groups(grouped, by_label, proportions, rng)
        names = _client_names(spec.num_clients)
        sizes = [len(client_rows) for client_rows in per_client]
        if min(sizes) >= needed:
            return list(zip(names, per_client, strict=True))
        smallest = (min(sizes), names[sizes.index(min(sizes))])
    skew = f" (alpha={spec.alpha})" if spec.kind != "iid" else ""
    raise DataError(
        f"partition {spec.kind!r}{skew} leaves {smallest[1]} with "
        f"{smallest[0]} rows, fewer than 2 x test_per_client={spec.test_per_client}",
        _HINT,
    )


def _test_size(name: str, rows: Sequence[int], spec: PartitionSpec) -> int:
    """``test_per_client``, or half the rows of a client holding fewer than twice that."""
    size = min(spec.test_per_client, len(rows) // 2)
    if size < 1:
        raise DataError(
            f"site {name} holds {len(rows)} row(s), too few for a test and a training split",
            "add rows for it, or merge it with another site in the site column",
        )
    return size


def _picker(spec: PartitionSpec) -> Callable[..., tuple[list[int], set[str]]]:
    """The row picker of ``spec.test_draw``; test and validation splits are drawn alike."""
    return pick_spread_rows if spec.test_draw == "spread" else pick_test_rows


def _draw_tests(
    examples: Sequence[Example],
    clients: list[tuple[str, list[int]]],
    spec: PartitionSpec,
    rng: np.random.Generator,
) -> tuple[list[list[int]], set[str], list[str]]:
    """Each client's test rows, every group they touch, and a note per undersized client."""
    tests: list[list[int]] = []
    test_groups: set[str] = set()
    notes = []
    for name, rows in clients:
        size = _test_size(name, rows, spec)
        test_rows, used = _picker(spec)(examples, rows, size, rng)
        tests.append(test_rows)
        test_groups |= used
        if size < spec.test_per_client:
            notes.append(
                f"site {name} holds {len(rows)} rows, fewer than 2 x test_per_client="
                f"{spec.test_per_client}: its test split has {len(test_rows)} rows, half of them"
            )
    return tests, test_groups, notes


def _split_clients(
    examples: Sequence[Example],
    clients: list[tuple[str, list[int]]],
    spec: PartitionSpec,
    rng: np.random.Generator,
) -> tuple[tuple[ClientData, ...], tuple[str, ...]]:
    tests, test_groups, notes = _draw_tests(examples, clients, spec, rng)
    trains = []
    for name, rows in clients:
        train = [row for row in rows if group_key(examples, row) not in test_groups]
        if not train:
            raise DataError(f"client {name} has no training rows left after its test split", _HINT)
        if spec.train_per_client is not None and len(train) > spec.train_per_client:
            train = sorted(int(row) for row in rng.choice(train, spec.train_per_client, False))
        trains.append(train)
    validations = _validation_rows(examples, clients, trains, test_groups, spec)
    return tuple(
        ClientData(
            name=name,
            train=tuple(examples[row] for row in train),
            test=tuple(examples[row] for row in test_rows),
            validation=tuple(examples[row] for row in validation),
        )
        for (name, _), train, test_rows, validation in zip(
            clients, trains, tests, validations, strict=True
        )
    ), tuple(notes)


def _validation_rows(
    examples: Sequence[Example],
    clients: list[tuple[str, list[int]]],
    trains: list[list[int]],
    test_groups: set[str],
    spec: PartitionSpec,
) -> list[list[int]]:
    """Each client's validation rows, drawn like its test split from its own rows in groups no
    client trains or tests on (rows the training cap left unused).

    Its own generator (seeded from ``spec.seed``), so asking for a validation split leaves
    every training and test split exactly as without one: a setting chosen on validation
    runs carries over to the test runs unchanged.
    """
    if not spec.validation_per_client:
        return [[] for _ in clients]
    rng = np.random.default_rng((spec.seed, 1))
    taken = test_groups | {group_key(examples, row) for train in trains for row in train}
    validations = []
    for name, rows in clients:
        spare = [row for row in rows if group_key(examples, row) not in taken]
        if len(spare) < spec.validation_per_client:
            raise DataError(
                f"site {name} has {len(spare)} rows outside its training and test groups, "
                f"fewer than validation_per_client={spec.validation_per_client}",
                "use a smaller validation split or training cap (train_per_client)",
            )
        validation, used = _picker(spec)(examples, spare, spec.validation_per_client, rng)
        taken |= used
        validations.append(validation)
    return validations


def partition(corpus: LabeledCorpus, spec: PartitionSpec) -> FederatedData:
    """Split ``corpus`` into per-client train/test splits and a global test split.

    Parameters
    ----------
    corpus : LabeledCorpus
        The rows to split; rows sharing a ``group`` are never on two sides of a split.
    spec : PartitionSpec
        Kind of partition, number of clients, skew, split sizes and seed.

    Returns
    -------
    FederatedData
        No row appears twice. Every client's test split has ``test_per_client`` rows drawn from
        its own label mix (half its rows if it holds fewer than twice that, stated in
        ``notes``); the global test split has ``global_test`` rows (fewer only if the corpus
        is smaller).

    Raises
    ------
    DataError
        When a client would be empty or too small, naming the client and what to change.
    """
    _check_corpus(corpus)
    examples = corpus.examples
    rng = np.random.default_rng(spec.seed)
    everything = list(range(len(examples)))
    global_rows, global_groups = pick_test_rows(examples, everything, spec.global_test, rng)
    remaining = [row for row in everything if group_key(examples, row) not in global_groups]
    if spec.kind == "natural":
        clients = _natural_clients(examples, remaining, spec)
    else:
        clients = _skewed_clients(examples, remaining, spec, rng)
    split, notes = _split_clients(examples, clients, spec, rng)
    return FederatedData(
        corpus=corpus.name,
        instruction=corpus.instruction,
        label_names=corpus.label_names,
        clients=split,
        global_test=tuple(examples[row] for row in global_rows),
        notes=notes,
    )
