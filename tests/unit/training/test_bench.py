"""The bench compares like with like: the bare peft loop optimises the same loss as LocalTrainer."""

from __future__ import annotations

import torch
from tests.unit.training.training_helpers import NUM_LABELS, TOY_FORMAT, toy_examples

from fedlora.data import Example
from fedlora.training import LocalTrainer, LoraSettings, load_model
from fedlora.training.bench import BarePeftLoop, measure_throughput
from fedlora.training.trainer import TrainerOptions


def test_bare_loop_and_trainer_compute_the_same_answer_loss() -> None:
    settings = LoraSettings(rank=4, alpha=8, init_seed=11)
    batch = [*toy_examples(5), Example("a much longer case text " * 4, 2)]
    bare = BarePeftLoop("tiny", settings, TOY_FORMAT, NUM_LABELS)
    trainer = LocalTrainer(
        load_model("tiny"), settings, TOY_FORMAT, NUM_LABELS, TrainerOptions(device="cpu")
    )
    prompts = trainer._encoder.encode_all(batch)
    labels = torch.tensor([example.label for example in batch])
    with torch.no_grad():
        expected = float(trainer._answer_loss(trainer.answer_logits(prompts), labels))
    # Fixed padding must not change the loss either: padding sits after the answer.
    assert abs(bare.step(batch, fixed_length=64) - expected) < 1e-4


def test_measure_throughput_times_every_variant_on_the_same_tokens() -> None:
    rows = measure_throughput("tiny", toy_examples(12), TOY_FORMAT, NUM_LABELS, 1, 4, 1)
    timed = [row for row in rows if row.steps == 1]
    assert len(timed) == 5
    assert len({row.tokens for row in timed}) == 1
    assert all(row.seconds > 0 and row.tokens_per_second > 0 for row in timed)
