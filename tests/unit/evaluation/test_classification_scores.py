"""Macro-F1, accuracy and the majority-class baseline, on hand-computed cases."""

from __future__ import annotations

import pytest

from fedlora.errors import FedloraError
from fedlora.evaluation import (
    accuracy,
    macro_f1,
    majority_label,
    majority_macro_f1,
    majority_rate,
    score_split,
)


def test_perfect_predictions_score_one() -> None:
    assert macro_f1([0, 1, 2, 2], [0, 1, 2, 2]) == 1.0
    assert accuracy([0, 1, 2, 2], [0, 1, 2, 2]) == 1.0


def test_macro_f1_hand_computed() -> None:
    # labels  0 0 0 1 1 2 ; predictions 0 0 1 1 2 2
    # class 0: TP 2, FP 0, FN 1 -> 4/5; class 1: TP 1, FP 1, FN 1 -> 2/4;
    # class 2: TP 1, FP 1, FN 0 -> 2/3
    labels, predictions = [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]
    assert macro_f1(labels, predictions) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    assert accuracy(labels, predictions) == pytest.approx(4 / 6)


def test_a_class_never_predicted_scores_zero_and_counts() -> None:
    # class 1 is in the test split but never answered: F1 0, averaged in
    # class 0: TP 3, FP 1, FN 0 -> 6/7
    assert macro_f1([0, 0, 0, 1], [0, 0, 0, 0]) == pytest.approx((6 / 7 + 0) / 2)


def test_a_class_predicted_but_absent_from_the_test_split_scores_zero() -> None:
    # class 5 never occurs in the labels: its F1 is 0 (all false positives)
    # class 0: TP 1, FP 0, FN 1 -> 2/3
    assert macro_f1([0, 0], [0, 5]) == pytest.approx((2 / 3 + 0) / 2)


def test_classes_in_neither_labels_nor_predictions_are_left_out() -> None:
    # labels 0..25 exist in the corpus, but only 0 and 1 are here: the score is over 2 classes
    assert macro_f1([0, 1], [0, 1]) == 1.0
    assert macro_f1([3, 3, 7], [3, 3, 3]) == pytest.approx((4 / 5 + 0) / 2)


def test_the_constant_answer_is_told_apart_from_a_model() -> None:
    # 8 of 10 test rows are class 0: answering 0 always gets 80 % accuracy but a low macro-F1
    labels = [0] * 8 + [1, 2]
    constant = [0] * 10
    assert accuracy(labels, constant) == pytest.approx(0.8)
    assert macro_f1(labels, constant) == pytest.approx((16 / 18) / 3)


def test_majority_label_takes_the_smallest_label_on_a_tie() -> None:
    assert majority_label([2, 2, 1, 1, 3]) == 1
    assert majority_label([4, 4, 4, 0]) == 4


def test_majority_rate_uses_the_training_split_not_the_test_split() -> None:
    # training: class 1 commonest; test: class 0 commonest (3 of 4), class 1 once
    train, test = [1, 1, 1, 0], [0, 0, 0, 1]
    assert majority_rate(train, test) == pytest.approx(0.25)
    # class 1: TP 1, FP 3, FN 0 -> 2/5; class 0: never predicted -> 0
    assert majority_macro_f1(train, test) == pytest.approx((2 / 5 + 0) / 2)


def test_majority_label_absent_from_the_test_split_scores_zero() -> None:
    assert majority_rate([3, 3], [0, 1, 1]) == 0.0


def test_score_split_gathers_accuracy_loss_and_macro_f1() -> None:
    scores = score_split([0, 1], [0, 0], [0.5, 1.5])
    assert scores.accuracy == 0.5
    assert scores.loss == 1.0
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0) / 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: macro_f1([], []), "no test rows"),
        (lambda: accuracy([0, 1], [0]), "2 labels but 1 predictions"),
        (lambda: majority_label([]), "no training labels"),
        (lambda: majority_rate([], [0]), "no training labels"),
        (lambda: score_split([0], [0], []), "1 labels but 0 losses"),
    ],
)
def test_bad_input_is_one_line(call: object, message: str) -> None:
    with pytest.raises(FedloraError, match=message):
        call()  # type: ignore[operator]
