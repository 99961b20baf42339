"""Fixtures for trainer tests: a fresh tiny-model LocalTrainer per test."""

from __future__ import annotations

import pytest
from tests.unit.training.training_helpers import NUM_LABELS, TOY_FORMAT, MakeTrainer

from fedlora.training import LocalTrainer, LoraSettings, load_model
from fedlora.training.trainer import TrainerOptions


@pytest.fixture
def make_trainer() -> MakeTrainer:
    """Build a fresh LocalTrainer on a freshly loaded tiny model (LoRA wraps it in place)."""

    def build(lora: LoraSettings | None = None, **options: object) -> LocalTrainer:
        return LocalTrainer(
            load_model("tiny"),
            lora or LoraSettings(rank=4, alpha=8),
            TOY_FORMAT,
            NUM_LABELS,
            TrainerOptions(device="cpu", **options),  # type: ignore[arg-type]
        )

    return build
