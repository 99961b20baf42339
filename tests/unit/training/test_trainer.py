"""LocalTrainer on the tiny model: adapter I/O, FFA, FedProx, letter scoring, exact shortcuts."""

from __future__ import annotations

import pytest
import torch
from tests.unit.training.training_helpers import NUM_LABELS, MakeTrainer, toy_examples

from fedlora.data import Example
from fedlora.errors import FedloraError
from fedlora.training import LoraSettings
from fedlora.training.prompts import answer_token_ids


def _distance(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> float:
    return sum(float((left[k] - right[k]).pow(2).sum()) for k in left) ** 0.5


def test_adapter_round_trips_through_get_and_set(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer()
    generator = torch.Generator().manual_seed(7)
    wanted = {
        key: torch.randn(value.shape, generator=generator)
        for key, value in trainer.get_adapter().items()
    }
    trainer.set_adapter(wanted)
    got = trainer.get_adapter()
    assert set(got) == set(wanted)
    assert all(torch.equal(got[key], wanted[key]) for key in wanted)
    assert all(".lora_A.weight" in k or ".lora_B.weight" in k for k in got)


def test_set_adapter_rejects_wrong_keys_and_shapes(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer()
    tensors = trainer.get_adapter()
    key = next(iter(tensors))
    with pytest.raises(FedloraError, match="keys do not match"):
        trainer.set_adapter({k: v for k, v in tensors.items() if k != key})
    with pytest.raises(FedloraError, match="shape"):
        trainer.set_adapter({**tensors, key: torch.zeros(1, 1)})


def test_ffa_keeps_lora_a_at_its_shared_seeded_initialisation(make_trainer: MakeTrainer) -> None:
    settings = LoraSettings(rank=4, alpha=8, freeze_a=True, init_seed=3)
    trainer, twin = make_trainer(settings), make_trainer(settings)
    before = trainer.get_adapter()
    assert all(torch.equal(before[k], twin.get_adapter()[k]) for k in before)
    trainer.train(toy_examples(12), steps=4, batch_size=4, lr=1e-2)
    after = trainer.get_adapter()
    a_keys = [k for k in after if ".lora_A." in k]
    b_keys = [k for k in after if ".lora_B." in k]
    assert a_keys and b_keys
    assert all(torch.equal(before[k], after[k]) for k in a_keys)
    assert any(not torch.equal(before[k], after[k]) for k in b_keys)


def test_different_init_seeds_give_different_lora_a(make_trainer: MakeTrainer) -> None:
    first = make_trainer(LoraSettings(rank=4, alpha=8, init_seed=1)).get_adapter()
    second = make_trainer(LoraSettings(rank=4, alpha=8, init_seed=2)).get_adapter()
    a_key = next(k for k in first if ".lora_A." in k)
    assert not torch.equal(first[a_key], second[a_key])


def test_proximal_term_pulls_toward_the_global_adapter(make_trainer: MakeTrainer) -> None:
    examples = toy_examples(12)
    distances = []
    for mu in (0.0, 50.0):
        trainer = make_trainer()
        start = trainer.get_adapter()
        trainer.train(
            examples, steps=6, batch_size=4, lr=1e-2, proximal_mu=mu, global_tensors=start
        )
        distances.append(_distance(trainer.get_adapter(), start))
    assert distances[1] < 0.7 * distances[0]


def test_training_lowers_the_answer_loss(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer()
    examples = toy_examples(12)
    _, loss_before = trainer.evaluate(examples)
    result = trainer.train(examples, steps=15, batch_size=6, lr=2e-2, seed=1)
    _, loss_after = trainer.evaluate(examples)
    assert loss_after < loss_before - 1.0
    assert result.num_examples == 12
    assert result.tokens > 15 * 6 * 5  # every prompt has more than 5 real tokens
    assert result.seconds > 0


def _reference_letter_logits(trainer: object, examples: tuple[Example, ...]) -> torch.Tensor:
    """Letter logits from the plain peft forward, one unpadded prompt at a time."""
    rows = []
    letters = answer_token_ids(trainer._encoder._tokenizer, NUM_LABELS)  # type: ignore[attr-defined]
    with torch.no_grad():
        for example in examples:
            ids = torch.tensor([trainer._encoder.encode(example.text)])  # type: ignore[attr-defined]
            logits = trainer.model(input_ids=ids).logits[0, -1]  # type: ignore[attr-defined]
            rows.append(logits[letters])
    return torch.stack(rows)


@pytest.mark.parametrize("top_layers", [None, 1])
def test_fast_path_matches_the_plain_forward(make_trainer: MakeTrainer, top_layers: int) -> None:
    trainer = make_trainer(LoraSettings(rank=4, alpha=8, top_layers=top_layers, init_seed=5))
    trainer.train(toy_examples(9), steps=2, batch_size=3, lr=1e-2)  # make B non-zero
    examples = (Example("a short one", 0), *toy_examples(4), Example("x " * 30, 1))
    prompts = trainer._encoder.encode_all(examples)
    fast = trainer.answer_logits(prompts).detach()[
        :, answer_token_ids(trainer._encoder._tokenizer, NUM_LABELS)
    ]
    assert torch.allclose(fast, _reference_letter_logits(trainer, examples), atol=1e-4)


def test_evaluate_scores_the_argmax_over_answer_letters(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer()
    unlabeled = toy_examples(8)
    predicted = _reference_letter_logits(trainer, unlabeled).argmax(dim=-1).tolist()
    # Label the first 6 with the reference prediction and the last 2 with another letter.
    labels = [p if i < 6 else (p + 1) % NUM_LABELS for i, p in enumerate(predicted)]
    examples = [Example(e.text, label) for e, label in zip(unlabeled, labels, strict=True)]
    accuracy, loss = trainer.evaluate(examples)
    assert accuracy == pytest.approx(6 / 8)
    assert loss > 0


def test_bad_schedules_raise_one_line_errors(make_trainer: MakeTrainer) -> None:
    trainer = make_trainer()
    with pytest.raises(FedloraError, match="steps"):
        trainer.train(toy_examples(3), steps=0, batch_size=2, lr=1e-3)
    with pytest.raises(FedloraError, match="zero examples"):
        trainer.train([], steps=1, batch_size=2, lr=1e-3)
    with pytest.raises(FedloraError, match="learning rate"):
        trainer.train(toy_examples(3), steps=1, batch_size=2, lr=0.0)
    with pytest.raises(FedloraError, match="zero examples"):
        trainer.evaluate([])
