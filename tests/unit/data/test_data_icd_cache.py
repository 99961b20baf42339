"""The parsed ICD-10-CM code list is cached and rebuilt when the cache is damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedlora.data import icd10


def _small_table() -> icd10._CodeTable:
    codes = {
        "1": [(f"A{i:02d}.0", f"infection {i}") for i in range(60)],
        "2": [(f"C{i:02d}.1", f"neoplasm {i}") for i in range(70)],
        "22": [("U07.1", "special")],
    }
    return icd10._CodeTable({"1": "Infections", "2": "Neoplasms", "22": "Special"}, codes)


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    monkeypatch.setenv("FEDLORA_CACHE", str(tmp_path))
    calls: list[int] = []

    def build() -> icd10._CodeTable:
        calls.append(1)
        return _small_table()

    monkeypatch.setattr(icd10, "_build_table", build)
    return calls


def test_second_load_reads_the_cache_and_gives_the_same_corpus(builds: list[int]) -> None:
    first = icd10.load_icd10(max_per_label=50, seed=2)
    second = icd10.load_icd10(max_per_label=50, seed=2)
    assert builds == [1]
    assert first == second
    assert icd10._cache_path().is_file()
    # Chapters below the minimum size are left out; the others keep their order.
    assert first.label_names == ("Infections", "Neoplasms")
    assert {e.group for e in first.examples if e.label == 1} <= {f"C{i:02d}" for i in range(70)}


def test_a_damaged_cache_is_rebuilt(builds: list[int]) -> None:
    icd10.load_icd10()
    icd10._cache_path().write_text('{"chapter_titles": ', encoding="utf-8")
    corpus = icd10.load_icd10()
    assert builds == [1, 1]
    assert len(corpus.examples) == 130
