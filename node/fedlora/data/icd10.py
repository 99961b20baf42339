"""ICD-10-CM chapter coding: billable code descriptions labelled by their chapter."""

from __future__ import annotations

import importlib
import random
import warnings
from collections import defaultdict
from types import ModuleType

from fedlora.data.types import DataError, Example, LabeledCorpus

ICD10_INSTRUCTION = "Classify this diagnosis into its ICD-10-CM chapter."
# Chapter 22 ("Codes for special purposes", U00-U85) has 3 billable codes: too few to learn or
# test, so chapters below this size are left out (21 chapters remain).
MIN_CODES_PER_CHAPTER = 50


def _icd_module() -> ModuleType:
    """Import simple_icd_10_cm lazily: parsing its tables takes seconds."""
    with warnings.catch_warnings():
        # The package reads its data with deprecated importlib.resources calls.
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("simple_icd_10_cm")


def _codes_by_chapter() -> dict[str, list[str]]:
    """Return billable leaf codes grouped by chapter number, each list sorted."""
    icd = _icd_module()
    by_chapter: dict[str, list[str]] = defaultdict(list)
    for code in icd.get_all_codes(True):
        if icd.is_leaf(code):
            by_chapter[icd.get_ancestors(code)[-1]].append(code)
    return {chapter: sorted(codes) for chapter, codes in by_chapter.items()}


def load_icd10(max_per_label: int | None = None, seed: int = 0) -> LabeledCorpus:
    """Load ICD-10-CM billable codes as a description -> chapter classification corpus.

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
    icd = _icd_module()
    by_chapter = _codes_by_chapter()
    chapters = sorted(
        (chapter for chapter, codes in by_chapter.items() if len(codes) >= MIN_CODES_PER_CHAPTER),
        key=int,
    )
    rng = random.Random(seed)
    examples: list[Example] = []
    for label, chapter in enumerate(chapters):
        codes = by_chapter[chapter]
        if max_per_label is not None and len(codes) > max_per_label:
            codes = sorted(rng.sample(codes, max_per_label))
        examples.extend(
            Example(text=icd.get_description(code), label=label, group=code[:3]) for code in codes
        )
    return LabeledCorpus(
        name="icd10cm-chapter",
        instruction=ICD10_INSTRUCTION,
        label_names=tuple(icd.get_description(chapter) for chapter in chapters),
        examples=tuple(examples),
    )
