"""Scores of one model on one test split, from its predictions: accuracy, macro-F1, and the
majority-class rate a model must beat to have learned anything.

On skewed labels accuracy alone cannot tell a model from one that always answers the commonest
class: a site whose test split is 60 % one chapter gives that constant answer 60 %. Macro-F1
weighs every class the same, so the constant answer scores low on it, and the majority-class
rate says what "always the commonest" would have reached.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from fedlora.errors import FedloraError


@dataclass(frozen=True)
class SplitScores:
    """How one model did on one test split.

    Attributes
    ----------
    accuracy : float
        Fraction of rows predicted right.
    loss : float
        Mean answer-token loss.
    macro_f1 : float
        Unweighted mean of the per-class F1 (see :func:`macro_f1`).
    """

    accuracy: float
    loss: float
    macro_f1: float


def _check_pairs(labels: Sequence[int], predictions: Sequence[int]) -> None:
    if not labels:
        raise FedloraError("no test rows to score", "score a non-empty test split")
    if len(labels) != len(predictions):
        raise FedloraError(
            f"{len(labels)} labels but {len(predictions)} predictions",
            "pass one prediction per test row",
        )


def accuracy(labels: Sequence[int], predictions: Sequence[int]) -> float:
    """Fraction of ``predictions`` equal to ``labels`` (same length, not empty)."""
    _check_pairs(labels, predictions)
    return sum(int(p == y) for p, y in zip(predictions, labels, strict=True)) / len(labels)


def macro_f1(labels: Sequence[int], predictions: Sequence[int]) -> float:
    """Mean over classes of ``F1 = 2 TP / (2 TP + FP + FN)``, every class weighted the same.

    The classes are those that occur in ``labels`` or in ``predictions`` (scikit-learn's
    default): a class in the test split that is never predicted scores 0, and so does a class
    predicted but absent from the test split. A class in neither (a label of the corpus this
    site's test split lacks and the model never answers) is left out: it says nothing about the
    model here, and counting it would move a site's score with the corpus' other labels.

    Raises
    ------
    FedloraError
        For no rows or a length mismatch.
    """
    _check_pairs(labels, predictions)
    true_positive: Counter[int] = Counter()
    for predicted, label in zip(predictions, labels, strict=True):
        if predicted == label:
            true_positive[label] += 1
    label_count, predicted_count = Counter(labels), Counter(predictions)
    classes = set(label_count) | set(predicted_count)
    # 2 TP + FP + FN = (rows labelled c) + (rows predicted c), never 0 for a class in the union.
    scores = [2 * true_positive[c] / (label_count[c] + predicted_count[c]) for c in sorted(classes)]
    return math.fsum(scores) / len(scores)


def majority_label(train_labels: Sequence[int]) -> int:
    """The commonest label of a training split (the smallest label on a tie).

    Raises
    ------
    FedloraError
        For an empty training split.
    """
    if not train_labels:
        raise FedloraError("no training labels", "a majority class needs a non-empty train split")
    counts = Counter(train_labels)
    return min(counts, key=lambda label: (-counts[label], label))


def majority_rate(train_labels: Sequence[int], test_labels: Sequence[int]) -> float:
    """Accuracy on ``test_labels`` of always answering the commonest label of ``train_labels``.

    The training split is what a site could know in advance; taking the test split's own
    commonest label would give the baseline a look at the answers.
    """
    return accuracy(test_labels, [majority_label(train_labels)] * len(test_labels))


def majority_macro_f1(train_labels: Sequence[int], test_labels: Sequence[int]) -> float:
    """Macro-F1 on ``test_labels`` of always answering the commonest training label."""
    return macro_f1(test_labels, [majority_label(train_labels)] * len(test_labels))


def score_split(
    labels: Sequence[int], predictions: Sequence[int], losses: Sequence[float]
) -> SplitScores:
    """Accuracy, mean loss and macro-F1 of one model's predictions on one test split."""
    _check_pairs(labels, predictions)
    if len(losses) != len(labels):
        raise FedloraError(f"{len(labels)} labels but {len(losses)} losses", "one loss per row")
    return SplitScores(
        accuracy=accuracy(labels, predictions),
        loss=sum(losses) / len(losses),
        macro_f1=macro_f1(labels, predictions),
    )
