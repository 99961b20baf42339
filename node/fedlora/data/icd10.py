"""ICD-10-CM chapter coding: billable code descriptions labelled by their chapter."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedlora.data.types import DataError, Example, LabeledCorpus
from fedlora.fileio import write_atomic
from fedlora.paths import cache_dir

ICD10_INSTRUCTION = "Classify this diagnosis into its ICD-10-CM chapter."
# Chapter 22 ("Codes for special purposes", U00-U85) has 3 billable codes: too few to learn or
# test, so chapters below this size are left out (21 chapters remain).
MIN_CODES_PER_CHAPTER = 50
_PACKAGE = "simple-icd-10-cm"


@dataclass(frozen=True)
class _CodeTable:
    """Chapter titles by chapter number, and every billable leaf as (code, description)."""

    chapter_titles: dict[str, str]
    codes_by_chapter: dict[str, list[tuple[str, str]]]


def _build_table() -> _CodeTable:
    """Read the tabular list from simple_icd_10_cm (parsing it takes several seconds)."""
    with warnings.catch_warnings():
        # The package reads its data with deprecated importlib.resources calls.
        warnings.simplefilter("ignore", DeprecationWarning)
        icd: Any = importlib.import_module("simple_icd_10_cm")
    by_chapter: dict[str, list[tuple[str, str]]] = {}
    titles: dict[str, str] = {}
    for code in icd.get_all_codes(True):
        if icd.is_chapter(code):
            titles[code] = icd.get_description(code)
        elif icd.is_leaf(code):
            chapter = icd.get_ancestors(code)[-1]
            by_chapter.setdefault(chapter, []).append((code, icd.get_description(code)))
    return _CodeTable(titles, {chapter: sorted(rows) for chapter, rows in by_chapter.items()})


def _cache_path() -> Path:
    version = importlib.metadata.version(_PACKAGE)
    return cache_dir() / "datasets" / f"icd10cm-leaves-{version}.json"


def _read_cache(path: Path) -> _CodeTable | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        codes = {
            chapter: [(str(code), str(text)) for code, text in rows]
            for chapter, rows in payload["codes_by_chapter"].items()
        }
        return _CodeTable(dict(payload["chapter_titles"]), codes)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: rebuild from the package


def _write_cache(path: Path, table: _CodeTable) -> None:
    payload = {"chapter_titles": table.chapter_titles, "codes_by_chapter": table.codes_by_chapter}
    try:
        write_atomic(path, json.dumps(payload))
    except OSError:
        return  # a read-only cache only costs speed


def _code_table() -> _CodeTable:
    path = _cache_path()
    table = _read_cache(path)
    if table is None:
        table = _build_table()
        _write_cache(path, table)
    return table


def load_icd10(max_per_label: int | None = None, seed: int = 0) -> LabeledCorpus:
    """Load ICD-10-CM billable codes as a description -> chapter classification corpus.

    The parsed code list is cached under ``fedlora.paths.cache_dir()`` keyed by the
    simple-icd-10-cm version, so only the first call pays for parsing the tabular list.

    Parameters
    ----------
    max_per_label : int, optional
        Keep at most this many codes per chapter (a seeded sample); None keeps all 74k.
    seed : int
        Seed of the per-chapter sample.

    Returns
    -------
    LabeledCorpus
        Text = the code's description, label = its chapter (in chapter order), group = the
        3-character category (near-duplicates share it), site empty.

    Raises
    ------
    DataError
        For a non-positive ``max_per_label``.
    """
    if max_per_label is not None and max_per_label < 1:
        raise DataError(f"max_per_label={max_per_label} is invalid", "use >= 1 or None")
    table = _code_table()
    chapters = sorted(
        (
            chapter
            for chapter, rows in table.codes_by_chapter.items()
            if len(rows) >= MIN_CODES_PER_CHAPTER
        ),
        key=int,
    )
    rng = random.Random(seed)
    examples: list[Example] = []
    for label, chapter in enumerate(chapters):
        rows = table.codes_by_chapter[chapter]
        if max_per_label is not None and len(rows) > max_per_label:
            rows = sorted(rng.sample(rows, max_per_label))
        examples.extend(Example(text=text, label=label, group=code[:3]) for code, text in rows)
    return LabeledCorpus(
        name="icd10cm-chapter",
        instruction=ICD10_INSTRUCTION,
        label_names=tuple(table.chapter_titles[chapter] for chapter in chapters),
        examples=tuple(examples),
    )
