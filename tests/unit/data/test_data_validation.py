"""Validation splits: disjoint groups from every other split, other splits unchanged."""

from __future__ import annotations

import pytest

from fedlora.data import DataError, Example, LabeledCorpus, PartitionSpec, partition


def _corpus(labels: int = 6, groups_per_label: int = 80, group_size: int = 3) -> LabeledCorpus:
    examples = [
        Example(f"label {label} group {group} row {row}", label, group=f"g{label}-{group}")
        for label in range(labels)
        for group in range(groups_per_label)
        for row in range(group_size)
    ]
    names = tuple(f"L{label}" for label in range(labels))
    return LabeledCorpus("synthetic", "Pick a label.", names, tuple(examples))


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
    data = partition(_corpus(), spec)
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
    without = partition(_corpus(), PartitionSpec("dirichlet", 3, **base))
    with_validation = partition(
        _corpus(), PartitionSpec("dirichlet", 3, **base, validation_per_client=15)
    )
    assert without.global_test == with_validation.global_test
    for plain, other in zip(without.clients, with_validation.clients, strict=True):
        assert (plain.train, plain.test) == (other.train, other.test)
        assert not plain.validation and other.validation


def test_a_site_without_enough_spare_rows_is_named() -> None:
    spec = PartitionSpec("iid", 2, test_per_client=40, validation_per_client=500)
    with pytest.raises(DataError, match=r"site client-\d has \d+ rows outside"):
        partition(_corpus(), spec)
