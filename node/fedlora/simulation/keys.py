"""How runs are told apart: by every parameter of their method, never by the label alone.

Two ablations may share a label (the `fedlora` preset before and after a change of its
defaults); results grouped by label would silently average them together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any


def method_digest(described: Mapping[str, Any]) -> str:
    """Short stable hash of a method's description (``MethodSpec.describe``, as stored)."""
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:8]


def method_names(results: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Display name of each method digest, in first-seen order: its label, or the label and the
    digest (``fedlora [1a2b3c4d]``) where methods with different parameters share a label."""
    labels: dict[str, str] = {}
    for run in results:
        labels.setdefault(method_digest(run["method"]), run["method"]["label"])
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {
        digest: label if counts[label] == 1 else f"{label} [{digest}]"
        for digest, label in labels.items()
    }


def method_name(run: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The display name of ``run``'s method (``names`` from :func:`method_names`)."""
    return names[method_digest(run["method"])]


def group_by_method(results: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Runs by method (all its parameters, named by :func:`method_names`), first-seen order."""
    runs = list(results)
    names = method_names(runs)
    grouped: dict[str, list[Any]] = {}
    for run in runs:
        grouped.setdefault(method_name(run, names), []).append(run)
    return grouped
