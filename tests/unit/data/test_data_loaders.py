"""Corpus loaders: ICD-10-CM chapters and user CSV / JSON-lines tables."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from fedlora.data import (
    ICD10_INSTRUCTION,
    DataError,
    LabeledCorpus,
    answer_token,
    answer_tokens,
    load_icd10,
    load_table,
)


@pytest.fixture(scope="module")
def icd_sample() -> LabeledCorpus:
    return load_icd10(max_per_label=20, seed=0)


def test_icd10_has_21_chapters_capped_per_label(icd_sample: LabeledCorpus) -> None:
    assert len(icd_sample.label_names) == 21
    assert icd_sample.instruction == ICD10_INSTRUCTION
    assert Counter(e.label for e in icd_sample.examples) == {label: 20 for label in range(21)}
    assert icd_sample.label_names[1].startswith("Neoplasms")


def test_icd10_groups_are_three_character_categories_of_their_chapter(
    icd_sample: LabeledCorpus,
) -> None:
    neoplasm_groups = {e.group for e in icd_sample.examples if e.label == 1}
    assert all(len(g) == 3 and g[0] in "CD" for g in neoplasm_groups)
    injury = icd_sample.label_names.index(
        next(name for name in icd_sample.label_names if name.startswith("Injury"))
    )
    assert all(e.group[0] in "ST" for e in icd_sample.examples if e.label == injury)
    assert all(e.text and not e.site for e in icd_sample.examples)


def test_icd10_sample_is_seeded(icd_sample: LabeledCorpus) -> None:
    assert load_icd10(max_per_label=20, seed=0) == icd_sample
    assert load_icd10(max_per_label=20, seed=1).examples != icd_sample.examples


def test_icd10_full_corpus_labels_cholera_as_infectious() -> None:
    corpus = load_icd10()
    cholera = [e for e in corpus.examples if e.group == "A00"]
    assert cholera and {e.label for e in cholera} == {0}
    assert corpus.label_names[0].startswith("Certain infectious and parasitic diseases")
    assert len(corpus.examples) > 70_000


def test_icd10_refuses_a_non_positive_cap() -> None:
    with pytest.raises(DataError, match="max_per_label"):
        load_icd10(max_per_label=0)


def test_answer_tokens_are_space_prefixed_letters() -> None:
    assert answer_tokens(3) == (" A", " B", " C")
    assert answer_token(25) == " Z"
    with pytest.raises(DataError, match="26"):
        answer_token(26)
    for count in (0, 27):
        with pytest.raises(DataError, match="cannot be answered with one letter each"):
            answer_tokens(count)


def test_csv_with_sites_and_numeric_labels(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("text,label,hospital\nfever,10,h1\ncough,2,h2\nrash,2,h1\n", encoding="utf-8")
    corpus = load_table(path, site_column="hospital")
    assert corpus.name == "notes"
    assert corpus.label_names == ("2", "10")
    assert [(e.text, e.label, e.site) for e in corpus.examples] == [
        ("fever", 1, "h1"),
        ("cough", 0, "h2"),
        ("rash", 0, "h1"),
    ]


def test_csv_from_a_spreadsheet_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("text,label\nfever,a\ncough,b\n".encode("utf-8-sig"))
    assert [e.text for e in load_table(path).examples] == ["fever", "cough"]


def test_jsonl_with_custom_columns_and_groups(tmp_path: Path) -> None:
    path = tmp_path / "codes.jsonl"
    rows = [
        {"desc": "broken arm", "chapter": "injury", "cat": "S52"},
        {"desc": "flu", "chapter": "respiratory", "cat": "J10"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    corpus = load_table(path, "desc", "chapter", instruction="Code it.", group_column="cat")
    assert corpus.label_names == ("injury", "respiratory")
    assert corpus.instruction == "Code it."
    assert [(e.text, e.label, e.group) for e in corpus.examples] == [
        ("broken arm", 0, "S52"),
        ("flu", 1, "J10"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "problem"),
    [
        ("empty.csv", "text,label\n", {}, "holds no rows"),
        ("cols.csv", "body,label\nx,1\n", {}, "no column 'text'.*columns found: body, label"),
        ("blank.csv", "text,label\nx,a\n  ,b\n", {}, r"blank.csv:3 has an empty 'text'"),
        ("site.csv", "text,label,s\nx,a,\ny,b,h\n", {"site_column": "s"}, "empty 's'"),
        ("one.csv", "text,label\nx,a\ny,a\n", {}, "1 distinct labels"),
        ("bad.jsonl", '{"text": "x", "label": "a"}\n{oops\n', {}, r"bad.jsonl:2 is not valid JSON"),
        ("list.jsonl", "[1, 2]\n", {}, "not a JSON object"),
        ("notes.txt", "x", {}, "neither .csv nor .jsonl"),
    ],
)
def test_table_errors_name_the_problem(
    tmp_path: Path, name: str, content: str, kwargs: dict[str, str], problem: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=problem):
        load_table(path, **kwargs)


def test_table_refuses_more_than_26_labels(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("text,label\n" + "".join(f"t{i},l{i}\n" for i in range(27)), encoding="utf-8")
    with pytest.raises(DataError, match="27 distinct labels"):
        load_table(path)


def test_table_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_table(tmp_path / "absent.csv")
