"""bf16: frozen Linear weights stored in bf16 give what autocast gives; the adapter stays fp32."""

from __future__ import annotations

import pytest
import torch
from tests.unit.training.training_helpers import MakeTrainer, toy_examples

import fedlora.training.trainer as trainer_module
from fedlora.training import LoraSettings


def _logits(make_trainer: MakeTrainer, settings: LoraSettings) -> torch.Tensor:
    trainer = make_trainer(settings, bf16=True)
    trainer.train(toy_examples(6), steps=2, batch_size=3, lr=1e-2)
    prompts = trainer._encoder.encode_all(toy_examples(5))
    with torch.no_grad():
        return trainer.answer_logits(prompts)


@pytest.mark.parametrize("freeze_a", [False, True])
def test_bf16_weights_match_autocast_and_keep_the_adapter_fp32(
    make_trainer: MakeTrainer, monkeypatch: pytest.MonkeyPatch, freeze_a: bool
) -> None:
    # Prepare
    settings = LoraSettings(rank=4, alpha=8, freeze_a=freeze_a, init_seed=2)
    stored = make_trainer(settings, bf16=True)
    # Execute: the same training with weights stored in bf16, then left in fp32
    cast = _logits(make_trainer, settings)
    monkeypatch.setattr(trainer_module, "cast_frozen_linears", lambda *_: 0)
    autocast_only = _logits(make_trainer, settings)
    # Assert
    assert torch.allclose(cast, autocast_only, atol=1e-3)
    parameters = dict(stored.model.named_parameters())
    assert all(p.dtype == torch.float32 for k, p in parameters.items() if "lora_" in k)
    assert any(p.dtype == torch.bfloat16 for k, p in parameters.items() if "base_layer" in k)
    assert all(value.dtype == torch.float32 for value in stored.get_adapter().values())
