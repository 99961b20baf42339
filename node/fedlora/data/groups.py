"""Group-aware bookkeeping: rows are handled by index, near-duplicate groups stay together."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from fedlora.data.types import Example

# A row without a group is its own group; the NUL prefix cannot collide with user group names.
_UNGROUPED = "\x00row:"


def group_key(examples: Sequence[Example], row: int) -> str:
    """Return the group of row ``row`` (its own private group when it has none)."""
    group = examples[row].group
    return group if group else f"{_UNGROUPED}{row}"


def rows_by_group(examples: Sequence[Example], rows: Sequence[int]) -> dict[str, list[int]]:
    """Return the given rows grouped by group key, groups in order of first appearance."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        grouped[group_key(examples, row)].append(row)
    return dict(grouped)


def group_label(examples: Sequence[Example], rows: Sequence[int]) -> int:
    """Return the majority label of a group's rows (the smallest label on a tie)."""
    counts = Counter(examples[row].label for row in rows)
    return min(counts, key=lambda label: (-counts[label], label))


def groups_by_label(
    examples: Sequence[Example], grouped: dict[str, list[int]]
) -> dict[int, list[str]]:
    """Return group keys by their majority label, labels ascending, groups in given order."""
    by_label: dict[int, list[str]] = defaultdict(list)
    for key, rows in grouped.items():
        by_label[group_label(examples, rows)].append(key)
    return dict(sorted(by_label.items()))


def largest_remainder(total: int, counts: Sequence[int]) -> list[int]:
    """Split ``total`` into integer quotas proportional to ``counts`` (Hamilton's method).

    Ties in the remainders go to the earlier entry, so the result is deterministic.
    """
    size = sum(counts)
    exact = [total * count / size for count in counts]
    quotas = [int(value) for value in exact]
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - quotas[i]), i))
    for i in order[: total - sum(quotas)]:
        quotas[i] += 1
    return quotas


def _groups_of_each_label(
    examples: Sequence[Example], rows: Sequence[int]
) -> tuple[dict[str, list[int]], dict[int, list[str]], list[int]]:
    """``rows`` by group, the group keys of each label, and each label's row count."""
    grouped = rows_by_group(examples, rows)
    by_label = groups_by_label(examples, grouped)
    sizes = [sum(len(grouped[key]) for key in keys) for keys in by_label.values()]
    return grouped, by_label, sizes


def pick_test_rows(
    examples: Sequence[Example],
    rows: Sequence[int],
    size: int,
    rng: np.random.Generator,
) -> tuple[list[int], set[str]]:
    """Draw ``size`` test rows from ``rows`` by whole groups, following their label mix.

    Each label gets a quota proportional to its share of ``rows``; groups of that label are
    taken in a seeded random order until the quota is met. The last group taken may be cut
    to fit: its remaining rows must then be used nowhere else (the caller drops them).

    Returns
    -------
    tuple
        The chosen rows (ascending) and the keys of every group they came from.
    """
    grouped, by_label, label_sizes = _groups_of_each_label(examples, rows)
    quotas = largest_remainder(min(size, len(rows)), label_sizes)
    chosen: list[int] = []
    used: set[str] = set()
    for keys, quota in zip(by_label.values(), quotas, strict=True):
        taken = 0
        for position in rng.permutation(len(keys)) if quota else []:
            if taken >= quota:
                break
            key = keys[int(position)]
            group_rows = grouped[key][: quota - taken]
            chosen.extend(group_rows)
            used.add(key)
            taken += len(group_rows)
    return sorted(chosen), used


# A spread test split touches at most this share of a label's groups, so the label keeps the
# other groups (whole) for training.
SPREAD_GROUP_SHARE = 0.5


def _spread_quotas(label_sizes: Sequence[int], group_counts: Sequence[int], size: int) -> list[int]:
    """Quotas by label share, but at least one row for every label with two or more groups
    (when ``size`` allows it): a label the site can both train and test on is tested."""
    floors = [1 if groups >= 2 else 0 for groups in group_counts]
    if sum(floors) > size:
        floors = [0] * len(floors)
    rest = largest_remainder(size - sum(floors), label_sizes)
    return [low + extra for low, extra in zip(floors, rest, strict=True)]


def _round_robin(groups: Sequence[list[int]], quota: int) -> list[int]:
    """Take one row from each group in turn until ``quota`` rows are taken."""
    taken: list[int] = []
    depth, deepest = 0, max((len(rows) for rows in groups), default=0)
    while len(taken) < quota and depth < deepest:
        for rows in groups:
            if depth < len(rows) and len(taken) < quota:
                taken.append(rows[depth])
        depth += 1
    return taken


def pick_spread_rows(
    examples: Sequence[Example],
    rows: Sequence[int],
    size: int,
    rng: np.random.Generator,
) -> tuple[list[int], set[str]]:
    """Draw ``size`` test rows from as many groups as the site can spare, few rows per group.

    Rows of one group (ICD-10: one 3-character category) are near-duplicates, so a test split
    of 300 rows from 70 groups holds about 70 independent observations. Here each label's
    quota is spread over up to half of that label's groups (seeded order), one row from each
    in turn, more groups only when those run out; the other groups stay whole for training.
    The rows of a touched group that are not taken are used nowhere (the caller drops them).

    Returns
    -------
    tuple
        The chosen rows (ascending) and the keys of every group they came from.
    """
    grouped, by_label, sizes = _groups_of_each_label(examples, rows)
    counts = [len(keys) for keys in by_label.values()]
    quotas = _spread_quotas(sizes, counts, min(size, len(rows)))
    chosen: list[int] = []
    used: set[str] = set()
    for keys, quota in zip(by_label.values(), quotas, strict=True):
        order = [keys[int(i)] for i in rng.permutation(len(keys))] if quota else []
        width = max(1, min(quota, int(len(order) * SPREAD_GROUP_SHARE)))
        while width < len(order) and sum(len(grouped[key]) for key in order[:width]) < quota:
            width += 1
        members = [
            [grouped[key][int(i)] for i in rng.permutation(len(grouped[key]))]
            for key in order[:width]
        ]
        taken = _round_robin(members, quota)
        chosen.extend(taken)
        used |= {group_key(examples, row) for row in taken}
    return sorted(chosen), used
