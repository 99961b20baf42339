"""Partitioners: no leakage, whole groups, real label skew, natural sites, clear errors."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from fedlora.data import (
    DataError,
    Example,
    FederatedData,
    LabeledCorpus,
    PartitionSpec,
    partition,
)


def _corpus(
    labels: int = 8, groups_per_label: int = 60, group_size: int = 3, sites: int = 0
) -> LabeledCorpus:
    """Unique texts; groups of ``group_size`` rows share a label (and a site, if any)."""
    examples = []
    for label in range(labels):
        for group in range(groups_per_label):
            site = f"site-{group % sites}" if sites else ""
            for member in range(group_size):
                text = f"label {label} group {group} row {member}"
                examples.append(Example(text, label, group=f"g{label}-{group}", site=site))
    names = tuple(f"L{label}" for label in range(labels))
    return LabeledCorpus("synthetic", "Pick a label.", names, tuple(examples))


def _all_rows(data: FederatedData) -> list[Example]:
    rows = list(data.global_test)
    for client in data.clients:
        rows += list(client.train) + list(client.test)
    return rows


def _entropy(examples: tuple[Example, ...]) -> float:
    counts = Counter(example.label for example in examples)
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values())


@pytest.mark.parametrize("kind", ["dirichlet", "quantity", "iid"])
def test_no_row_is_in_two_places_and_no_group_straddles_a_split(kind: str) -> None:
    corpus = _corpus()
    data = partition(corpus, PartitionSpec(kind, 4, alpha=0.3, test_per_client=40, global_test=50))
    texts = [example.text for example in _all_rows(data)]
    assert len(texts) == len(set(texts))
    train_groups = {e.group for client in data.clients for e in client.train}
    test_groups = {e.group for client in data.clients for e in client.test}
    test_groups |= {e.group for e in data.global_test}
    assert train_groups.isdisjoint(test_groups)
    assert all(len(client.test) == 40 and client.train for client in data.clients)
    assert len(data.global_test) == 50


def test_the_same_spec_gives_the_same_partition_and_another_seed_another() -> None:
    corpus = _corpus()
    spec = PartitionSpec("dirichlet", 3, alpha=0.5, seed=4, test_per_client=30, global_test=30)
    assert partition(corpus, spec) == partition(corpus, spec)
    other = PartitionSpec("dirichlet", 3, alpha=0.5, seed=5, test_per_client=30, global_test=30)
    assert partition(corpus, other) != partition(corpus, spec)


def _mean_client_entropy(alpha: float) -> float:
    corpus = _corpus(labels=10, groups_per_label=40, group_size=2)
    entropies = []
    for seed in range(3):
        spec = PartitionSpec("dirichlet", 4, alpha=alpha, seed=seed, test_per_client=20)
        data = partition(corpus, spec)
        entropies += [_entropy(client.train) for client in data.clients]
    return sum(entropies) / len(entropies)


def test_label_skew_grows_as_alpha_shrinks() -> None:
    skewed, medium, nearly_iid = (_mean_client_entropy(a) for a in (0.1, 1.0, 100.0))
    assert skewed < medium < nearly_iid
    assert nearly_iid > 0.95 * math.log(10)
    assert skewed < 0.75 * math.log(10)


def test_quantity_skew_varies_sizes_but_not_label_mix() -> None:
    corpus = _corpus(labels=5, groups_per_label=80, group_size=2)
    spec = PartitionSpec("quantity", 4, alpha=0.5, seed=1, test_per_client=20, global_test=20)
    sizes = [len(client.train) for client in partition(corpus, spec).clients]
    iid = PartitionSpec("iid", 4, seed=1, test_per_client=20, global_test=20)
    iid_sizes = [len(client.train) for client in partition(corpus, iid).clients]
    assert max(sizes) / min(sizes) > 1.5 * max(iid_sizes) / min(iid_sizes)
    for client in partition(corpus, spec).clients:
        assert _entropy(client.train) > 0.95 * math.log(5)


def test_natural_partition_follows_the_site_column() -> None:
    corpus = _corpus(labels=4, groups_per_label=30, sites=3)
    data = partition(corpus, PartitionSpec("natural", 3, test_per_client=20, global_test=20))
    assert [client.name for client in data.clients] == ["site-0", "site-1", "site-2"]
    for client in data.clients:
        assert {e.site for e in client.train + client.test} == {client.name}


def test_each_test_split_follows_its_own_clients_label_mix() -> None:
    # One site: 150 rows of label 0 and 50 of label 1, so a 40-row test holds 30 and 10.
    rows = [Example(f"a{i}", 0, site="north") for i in range(150)]
    rows += [Example(f"b{i}", 1, site="north") for i in range(50)]
    corpus = LabeledCorpus("mix", "Pick.", ("x", "y"), tuple(rows))
    data = partition(corpus, PartitionSpec("natural", 1, test_per_client=40, global_test=0))
    assert Counter(e.label for e in data.clients[0].test) == {0: 30, 1: 10}
    assert len(data.clients[0].train) == 160


def test_train_per_client_caps_training_rows() -> None:
    spec = PartitionSpec("iid", 2, train_per_client=25, test_per_client=20, global_test=10)
    data = partition(_corpus(), spec)
    assert [len(client.train) for client in data.clients] == [25, 25]


def test_natural_partition_needs_the_right_number_of_sites() -> None:
    corpus = _corpus(labels=2, groups_per_label=30, sites=3)
    with pytest.raises(DataError, match="num_clients=3"):
        partition(corpus, PartitionSpec("natural", 2, test_per_client=5, global_test=0))
    with pytest.raises(DataError, match="site_column"):
        partition(_corpus(), PartitionSpec("natural", 1, test_per_client=5))


def test_a_small_site_is_kept_with_half_its_rows_as_test_split_and_a_note() -> None:
    # Prepare: "tiny" holds 10 rows, fewer than 2 x test_per_client=20
    rows = [Example(f"a{i}", i % 2, site="big") for i in range(100)]
    rows += [Example(f"b{i}", i % 2, site="tiny") for i in range(10)]
    corpus = LabeledCorpus("sites", "Pick.", ("x", "y"), tuple(rows))
    # Execute
    data = partition(corpus, PartitionSpec("natural", 2, test_per_client=20, global_test=0))
    # Assert: tiny is there, tests on 5 rows, trains on the other 5, and the note says so
    big, tiny = data.clients
    assert (len(big.test), len(big.train)) == (20, 80)
    assert (tiny.name, len(tiny.test), len(tiny.train)) == ("tiny", 5, 5)
    assert data.notes == (
        "site tiny holds 10 rows, fewer than 2 x test_per_client=20: its test split has "
        "5 rows, half of them",
    )


def test_a_site_of_one_row_is_refused_by_name() -> None:
    rows = [Example(f"a{i}", i % 2, site="big") for i in range(40)]
    rows.append(Example("lonely", 0, site="clinic-7"))
    corpus = LabeledCorpus("sites", "Pick.", ("x", "y"), tuple(rows))
    with pytest.raises(DataError, match=r"site clinic-7 holds 1 row\(s\).*merge it"):
        partition(corpus, PartitionSpec("natural", 2, test_per_client=5, global_test=0))


def test_a_site_emptied_by_the_global_test_split_is_named() -> None:
    # "tiny"'s single group is the corpus' only group of label 1: the global split takes it
    rows = [Example(f"a{i}", 0, site="big") for i in range(60)]
    rows += [Example(f"b{i}", 1, group="g", site="tiny") for i in range(4)]
    corpus = LabeledCorpus("sites", "Pick.", ("x", "y"), tuple(rows))
    with pytest.raises(DataError, match=r"site tiny lost all its rows.*smaller global_test"):
        partition(corpus, PartitionSpec("natural", 2, test_per_client=5, global_test=30))


def test_too_many_clients_for_the_data_is_refused_with_advice() -> None:
    corpus = _corpus(labels=2, groups_per_label=10, group_size=2)
    with pytest.raises(DataError, match=r"fewer than 2 x test_per_client=20.*fewer clients"):
        partition(corpus, PartitionSpec("dirichlet", 5, alpha=0.1, test_per_client=20))


def test_a_client_left_without_training_rows_is_refused() -> None:
    # One group holds the whole site: its test split consumes it.
    rows = [Example(f"a{i}", i % 2, group="only", site="s") for i in range(30)]
    corpus = LabeledCorpus("g", "Pick.", ("x", "y"), tuple(rows))
    with pytest.raises(DataError, match="no training rows"):
        partition(corpus, PartitionSpec("natural", 1, test_per_client=10, global_test=0))


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": "pathological", "num_clients": 2}, "unknown partition kind"),
        ({"kind": "iid", "num_clients": 0}, "num_clients"),
        ({"kind": "dirichlet", "num_clients": 2, "alpha": 0.0}, "alpha"),
        ({"kind": "iid", "num_clients": 2, "test_per_client": 0}, "test_per_client"),
        ({"kind": "iid", "num_clients": 2, "train_per_client": 0}, "train_per_client"),
        ({"kind": "iid", "num_clients": 2, "global_test": -1}, "global_test"),
        ({"kind": "iid", "num_clients": 2, "test_draw": "some"}, "unknown test draw"),
    ],
)
def test_invalid_specs_are_refused(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(DataError, match=problem):
        PartitionSpec(**fields)  # type: ignore[arg-type]


def test_a_corpus_with_an_out_of_range_label_is_refused() -> None:
    corpus = LabeledCorpus("bad", "Pick.", ("x",), (Example("t", 3),))
    with pytest.raises(DataError, match="label 3"):
        partition(corpus, PartitionSpec("iid", 1, test_per_client=1, global_test=0))


def test_groups_spread_over_sites_never_train_at_one_site_and_test_at_another() -> None:
    # Every group has rows at every site: a group tested anywhere must train nowhere.
    rows = [
        Example(f"{site} g{group} r{member}", group % 3, group=f"g{group}", site=site)
        for site in ("east", "west")
        for group in range(60)
        for member in range(2)
    ]
    corpus = LabeledCorpus("spread", "Pick.", ("x", "y", "z"), tuple(rows))
    data = partition(corpus, PartitionSpec("natural", 2, test_per_client=15, global_test=10))
    train_groups = {e.group for client in data.clients for e in client.train}
    test_groups = {e.group for client in data.clients for e in client.test + data.global_test}
    assert train_groups.isdisjoint(test_groups)
    assert all(client.train for client in data.clients)


def test_a_spread_test_split_draws_from_many_groups_without_leaking() -> None:
    # Prepare: 8 labels x 60 groups of 3 rows; 40 test rows per client
    corpus = _corpus()
    whole = PartitionSpec("iid", 2, seed=3, test_per_client=40, global_test=20)
    spread = PartitionSpec("iid", 2, seed=3, test_per_client=40, global_test=20, test_draw="spread")
    # Execute
    by_groups, by_spread = partition(corpus, whole), partition(corpus, spread)
    # Assert: same sizes, one row from each of 40 groups instead of whole groups of 3,
    # and still no group on both sides of any split
    for client in by_spread.clients:
        assert len(client.test) == 40
        assert len({e.group for e in client.test}) == 40
    assert all(len({e.group for e in c.test}) <= 16 for c in by_groups.clients)  # 8 x (3 + 2)
    train_groups = {e.group for client in by_spread.clients for e in client.train}
    test_groups = {e.group for c in by_spread.clients for e in c.test + by_spread.global_test}
    assert train_groups.isdisjoint(test_groups)


def test_a_spread_test_split_leaves_half_of_each_labels_groups_to_training() -> None:
    # One site, one label, 10 groups of 5 rows, 20 test rows: at most 5 groups may be touched,
    # so the 20 rows come 4 from each of 5 groups and 5 groups (25 rows) train
    rows = [Example(f"g{g} r{r}", 0, group=f"g{g}", site="s") for g in range(10) for r in range(5)]
    rows.append(Example("other", 1, group="h", site="s"))
    corpus = LabeledCorpus("g", "Pick.", ("x", "y"), tuple(rows))
    spec = PartitionSpec("natural", 1, test_per_client=20, global_test=0, test_draw="spread")
    client = partition(corpus, spec).clients[0]
    assert set(Counter(e.group for e in client.test).values()) == {4}
    assert len(_groups(client.test)) == 5
    assert len({e.group for e in client.train} - {"h"}) == 5
    assert len(client.train) == 25 + 1


def test_a_spread_test_split_tests_every_label_the_site_can_also_train_on() -> None:
    # label 1 is 4 of 204 rows (2 groups): its share of 20 test rows rounds to 0, the floor
    # gives it one; label 2 has a single group, so it is not forced into the test split
    rows = [Example(f"a{i}", 0, group=f"a{i}", site="s") for i in range(200)]
    rows += [Example(f"b{i}", 1, group=f"b{i // 2}", site="s") for i in range(4)]
    rows += [Example(f"c{i}", 2, group="c", site="s") for i in range(2)]
    corpus = LabeledCorpus("g", "Pick.", ("x", "y", "z"), tuple(rows))
    spec = PartitionSpec("natural", 1, test_per_client=20, global_test=0, test_draw="spread")
    client = partition(corpus, spec).clients[0]
    assert Counter(e.label for e in client.test) == {0: 19, 1: 1}


def _groups(examples: tuple[Example, ...]) -> set[str]:
    return {example.group for example in examples}


# -- validation splits: disjoint groups from every other split, other splits unchanged --


@pytest.mark.parametrize("draw", ["groups", "spread"])
def test_validation_uses_groups_no_split_trains_or_tests_on(draw: str) -> None:
    spec = PartitionSpec(
        "dirichlet",
        3,
        alpha=0.3,
        seed=4,
        train_per_client=60,
        test_per_client=40,
        global_test=30,
        test_draw=draw,
        validation_per_client=25,
    )
    data = partition(_corpus(labels=6, groups_per_label=80), spec)
    used = {e.group for e in data.global_test}
    for client in data.clients:
        used |= {e.group for e in client.train} | {e.group for e in client.test}
    for client in data.clients:
        assert len(client.validation) == 25
        groups = {e.group for e in client.validation}
        assert groups.isdisjoint(used)
        used |= groups  # two sites never share a validation group either


def test_asking_for_validation_leaves_train_and_test_splits_as_they_were() -> None:
    base = {"alpha": 0.3, "seed": 2, "train_per_client": 30, "test_per_client": 40}
    without = partition(
        _corpus(labels=6, groups_per_label=80), PartitionSpec("dirichlet", 3, **base)
    )
    with_validation = partition(
        _corpus(labels=6, groups_per_label=80),
        PartitionSpec("dirichlet", 3, **base, validation_per_client=15),
    )
    assert without.global_test == with_validation.global_test
    for plain, other in zip(without.clients, with_validation.clients, strict=True):
        assert (plain.train, plain.test) == (other.train, other.test)
        assert not plain.validation and other.validation


def test_a_site_without_enough_spare_rows_is_named() -> None:
    spec = PartitionSpec("iid", 2, test_per_client=40, validation_per_client=500)
    with pytest.raises(DataError, match=r"site client-\d has \d+ rows outside"):
        partition(_corpus(labels=6, groups_per_label=80), spec)
