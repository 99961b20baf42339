"""apply_lora refuses activation checkpointing and wraps without peft's deprecation warning."""

from __future__ import annotations

import warnings

import pytest

from fedlora.errors import FedloraError
from fedlora.training import LoraSettings, load_model
from fedlora.training.lora import apply_lora


def test_a_model_with_activation_checkpointing_is_refused() -> None:
    model = load_model("tiny").model
    model.activation_checkpointing_enable()
    with pytest.raises(FedloraError, match="activation checkpointing"):
        apply_lora(model, LoraSettings(rank=2, alpha=4))


def test_wrapping_raises_no_future_warning() -> None:
    model = load_model("tiny").model
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        wrapped = apply_lora(model, LoraSettings(rank=2, alpha=4))
    assert not wrapped.base_model.model.is_activation_checkpointing
