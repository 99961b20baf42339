"""Partition invariants over random corpora and specs: they hold, or a DataError explains."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedlora.data import DataError, Example, LabeledCorpus, PartitionSpec, partition


@st.composite
def corpora(draw: st.DrawFn) -> LabeledCorpus:
    labels = draw(st.integers(min_value=1, max_value=6))
    sites = draw(st.integers(min_value=1, max_value=4))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=5), min_size=5, max_size=80))
    examples = []
    for group, size in enumerate(sizes):
        label = draw(st.integers(min_value=0, max_value=labels - 1))
        for member in range(size):
            # Some rows carry no group: each is then its own group.
            named = draw(st.booleans())
            examples.append(
                Example(
                    text=f"g{group} r{member}",
                    label=label,
                    group=f"g{group}" if named else "",
                    site=f"s{draw(st.integers(min_value=0, max_value=sites - 1))}",
                )
            )
    names = tuple(f"L{i}" for i in range(labels))
    return LabeledCorpus("random", "Pick.", names, tuple(examples))


@st.composite
def specs(draw: st.DrawFn) -> PartitionSpec:
    return PartitionSpec(
        kind=draw(st.sampled_from(["natural", "dirichlet", "quantity", "iid"])),
        num_clients=draw(st.integers(min_value=1, max_value=4)),
        alpha=draw(st.sampled_from([0.05, 0.5, 5.0])),
        seed=draw(st.integers(min_value=0, max_value=3)),
        train_per_client=draw(st.sampled_from([None, 3])),
        test_per_client=draw(st.integers(min_value=1, max_value=8)),
        global_test=draw(st.integers(min_value=0, max_value=10)),
        test_draw=draw(st.sampled_from(["groups", "spread"])),
    )


def _group(example: Example) -> str:
    return example.group or example.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), specs())
def test_partitions_never_leak_and_are_reproducible(corpus: LabeledCorpus, spec: PartitionSpec):
    try:
        data = partition(corpus, spec)
    except DataError as error:
        assert " -- " in str(error)  # a what and a hint, on one line
        assert "\n" not in str(error)
        return
    rows = list(data.global_test)
    for client in data.clients:
        assert client.train
        # A client too small for the asked test split gets half its rows, with a note.
        shortened = any(note.startswith(f"site {client.name} holds") for note in data.notes)
        assert len(client.test) == spec.test_per_client or shortened
        assert 0 < len(client.test) < spec.test_per_client or not shortened
        if spec.train_per_client is not None:
            assert len(client.train) <= spec.train_per_client
        rows += list(client.train) + list(client.test)
    assert len({row.text for row in rows}) == len(rows)
    trained = {_group(e) for client in data.clients for e in client.train}
    tested = {_group(e) for client in data.clients for e in client.test + data.global_test}
    assert trained.isdisjoint(tested)
    assert len(data.clients) == spec.num_clients
    assert partition(corpus, spec) == data
