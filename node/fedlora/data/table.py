"""Load a user's own corpus from CSV or JSON-lines: a text, a label and optionally a site."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fedlora.data.types import MAX_LABELS, DataError, Example, LabeledCorpus

DEFAULT_INSTRUCTION = "Classify this text into one of the labels."


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # utf-8-sig: spreadsheet exports often start with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        # Row numbers count the header as line 1, as a spreadsheet shows them.
        for number, row in enumerate(reader, start=2):
            yield number, dict(row)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(
                    f"{path}:{number} is not valid JSON ({error.msg})",
                    "write one JSON object per line",
                ) from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number} is not a JSON object", "write one object a line")
            yield number, row


def _read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise DataError(f"{path} is neither .csv nor .jsonl", "convert it to CSV or JSON lines")
    if not path.is_file():
        raise DataError(f"data file {path} does not exist", "check the path")
    try:
        rows = list(_csv_rows(path) if suffix == ".csv" else _jsonl_rows(path))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text", "save it as UTF-8") from None
    if not rows:
        raise DataError(f"data file {path} holds no rows", "add a header line and data rows")
    return rows


def _cell(path: Path, number: int, row: dict[str, Any], column: str) -> str:
    if column not in row:
        available = ", ".join(sorted(str(key) for key in row))
        raise DataError(
            f"{path}:{number} has no column {column!r}", f"columns found: {available or 'none'}"
        )
    value = row[column]
    return "" if value is None else str(value).strip()


def _label_order(values: set[str]) -> list[str]:
    """Sort labels numerically when they are all integers, else alphabetically."""
    try:
        return sorted(values, key=int)
    except ValueError:
        return sorted(values)


def load_table(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    site_column: str | None = None,
    instruction: str = DEFAULT_INSTRUCTION,
    group_column: str | None = None,
) -> LabeledCorpus:
    """Load a labelled corpus from a CSV or JSON-lines file (chosen by extension).

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (with a header line) or ``.jsonl`` file.
    text_column, label_column : str
        Columns holding the text and its label (any strings; at most 26 distinct labels).
    site_column : str, optional
        Column naming each row's institution, for natural partitions.
    instruction : str
        The task instruction shown to the model.
    group_column : str, optional
        Column whose equal values mark near-duplicates to keep on one side of a split.

    Raises
    ------
    DataError
        For a missing or empty file, a missing column, an empty text or site, fewer than 2 or
        more than 26 labels.
    """
    path = Path(path)
    records: list[tuple[str, str, str, str]] = []
    for number, row in _read_rows(path):
        text = _cell(path, number, row, text_column)
        label = _cell(path, number, row, label_column)
        site = _cell(path, number, row, site_column) if site_column else ""
        group = _cell(path, number, row, group_column) if group_column else ""
        if not text:
            raise DataError(f"{path}:{number} has an empty {text_column!r}", "fill or drop it")
        if not label:
            raise DataError(f"{path}:{number} has an empty {label_column!r}", "fill or drop it")
        if site_column and not site:
            raise DataError(f"{path}:{number} has an empty {site_column!r}", "fill or drop it")
        records.append((text, label, group, site))
    label_names = _label_order({label for _, label, _, _ in records})
    if not 2 <= len(label_names) <= MAX_LABELS:
        raise DataError(
            f"{path} has {len(label_names)} distinct labels in {label_column!r}",
            f"a classification corpus needs between 2 and {MAX_LABELS} labels",
        )
    index = {name: position for position, name in enumerate(label_names)}
    examples = tuple(
        Example(text=text, label=index[label], group=group, site=site)
        for text, label, group, site in records
    )
    return LabeledCorpus(
        name=path.stem, instruction=instruction, label_names=tuple(label_names), examples=examples
    )
