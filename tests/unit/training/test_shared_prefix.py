"""The shared prompt head is exact: logits and adapter gradients equal the plain full-row pass."""

from __future__ import annotations

import pytest
import torch
from tests.unit.training.training_helpers import MakeTrainer, toy_examples

from fedlora.data import Example
from fedlora.errors import FedloraError
from fedlora.training import LoraSettings


def _plain_loss(
    trainer: object, prompts: list[tuple[int, ...]], targets: torch.Tensor
) -> torch.Tensor:
    """Answer loss from the plain peft forward, one unpadded full prompt at a time."""
    logits = [
        trainer.model(input_ids=torch.tensor([prompt])).logits[0, -1]  # type: ignore[attr-defined]
        for prompt in prompts
    ]
    return torch.nn.functional.cross_entropy(torch.stack(logits), targets)


def _gradients(trainer: object, loss: torch.Tensor) -> dict[str, torch.Tensor]:
    parameters = trainer._parameters  # type: ignore[attr-defined]
    for parameter in parameters.values():
        parameter.grad = None
    loss.backward()
    return {key: p.grad.clone() for key, p in parameters.items() if p.grad is not None}


@pytest.mark.parametrize("top_layers", [None, 1])
def test_adapter_gradients_match_the_full_row_forward(
    make_trainer: MakeTrainer, top_layers: int | None
) -> None:
    # Prepare: a trained adapter (B non-zero) and rows of different lengths
    trainer = make_trainer(LoraSettings(rank=4, alpha=8, top_layers=top_layers, init_seed=3))
    trainer.train(toy_examples(9), steps=2, batch_size=3, lr=1e-2)
    examples = (Example("short", 0), *toy_examples(3), Example("y " * 25, 2))
    prompts = trainer._encoder.encode_all(examples)
    labels = torch.tensor([example.label for example in examples])
    targets = trainer._answer_ids[labels]
    trainer.model.train()
    # Execute: the trainer's head-once pass, then the plain pass
    fast = _gradients(trainer, trainer._answer_loss(trainer.answer_logits(prompts), labels))
    plain = _gradients(trainer, _plain_loss(trainer, prompts, targets))
    # Assert: the same adapter parameters get the same gradients
    assert set(fast) == set(plain) and fast
    for key in plain:
        assert torch.allclose(fast[key], plain[key], atol=1e-5, rtol=1e-3), key


def test_a_prompt_without_the_head_is_refused(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer()
    with pytest.raises(FedloraError, match="prompt head"):
        trainer.answer_logits([(1, 2, 3)])


def test_the_head_is_cached_once_and_rows_without_it(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer(LoraSettings(rank=4, alpha=8, top_layers=1))
    prompts = trainer._encoder.encode_all(toy_examples(5))
    trainer.answer_logits(prompts)
    head = trainer._encoder.head
    assert list(trainer._cache.heads) == [head]
    assert all(len(trainer._cache.store[p]) == len(p) - len(head) for p in prompts)


def test_bf16_answer_logits_stay_near_the_fp32_full_row_forward(make_trainer: MakeTrainer) -> None:
    # Prepare: the same adapter in an fp32 and a bf16 trainer
    settings = LoraSettings(rank=4, alpha=8, top_layers=1, init_seed=4)
    fp32, bf16 = make_trainer(settings), make_trainer(settings, bf16=True)
    fp32.train(toy_examples(6), steps=2, batch_size=3, lr=1e-2)
    bf16.set_adapter(fp32.get_adapter())
    prompts = fp32._encoder.encode_all(toy_examples(5))
    # Execute
    with torch.no_grad():
        reference = torch.stack(
            [fp32.model(input_ids=torch.tensor([p])).logits[0, -1] for p in prompts]
        )
        rounded = bf16.answer_logits(prompts)
    # Assert: bf16 keeps about 3 significant digits
    assert rounded.dtype == torch.float32
    assert torch.allclose(rounded, reference, atol=0.05 * float(reference.abs().max()))
