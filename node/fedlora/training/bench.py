"""Throughput of LocalTrainer against a bare peft training loop, on the same batches.

Variants run interleaved step by step, so a busy shared machine slows them all alike and the
ratios stay meaningful even when absolute numbers move. How busy the machine was is measured
too (``CpuShare``), so a number taken beside another job is never mistaken for an idle one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as functional

from fedlora.training.dp import DpSettings
from fedlora.training.lora import LoraSettings, apply_lora
from fedlora.training.model import load_model
from fedlora.training.prompts import LabeledText, PromptEncoder, PromptFormat, answer_token_ids
from fedlora.training.threads import CpuShare
from fedlora.training.trainer import LocalTrainer, TrainerOptions

FIXED_LENGTH = 64
BARE = "peft loop, padded to batch max"
MINE = "LocalTrainer, LoRA on all layers"
CACHED = "LocalTrainer, top {} layers, cached"
PRIVATE = CACHED + ", DP-SGD"
StepFunction = Callable[[Sequence[LabeledText]], object]


@dataclass(frozen=True)
class ThroughputRow:
    """Timed training steps of one variant."""

    variant: str
    steps: int
    tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        """Real prompt tokens trained per wall second."""
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_per_step(self) -> float:
        """Wall seconds per optimiser step (0 for untimed rows)."""
        return self.seconds / self.steps if self.steps else 0.0


@dataclass(frozen=True)
class Throughput:
    """Every variant's row, and how much of the machine other processes took meanwhile."""

    rows: list[ThroughputRow]
    threads: int
    bf16: bool
    others_cpu_share: float | None

    def ratio(self) -> float:
        """LocalTrainer's tokens/s over the bare loop's, on the same batches and layers."""
        by_name = {row.variant: row for row in self.rows}
        return by_name[MINE].tokens_per_second / max(by_name[BARE].tokens_per_second, 1e-9)

    def private_ratio(self) -> float:
        """DP-SGD's seconds per step over the non-private cached trainer's, same batches."""
        private = next(row for row in self.rows if row.variant.endswith(", DP-SGD"))
        plain = next(row for row in self.rows if row.variant + ", DP-SGD" == private.variant)
        return private.seconds_per_step / max(plain.seconds_per_step, 1e-9)


def _precision(bf16: bool) -> contextlib.AbstractContextManager[object]:
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


class BarePeftLoop:
    """The textbook loop: full forward with labels masked to the answer token, AdamW step."""

    def __init__(
        self,
        model_name: str,
        lora: LoraSettings,
        prompt: PromptFormat,
        labels: int,
        bf16: bool = False,
    ) -> None:
        loaded = load_model(model_name)
        self.model = apply_lora(loaded.model, lora)
        self.encoder = PromptEncoder(loaded.tokenizer, prompt)
        self.answer_ids = answer_token_ids(loaded.tokenizer, labels)
        self.pad_id = int(loaded.tokenizer.pad_token_id)
        self.bf16 = bf16
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=1e-3, weight_decay=0.0)

    def _tensors(
        self, batch: Sequence[LabeledText], fixed_length: int | None
    ) -> tuple[torch.Tensor, ...]:
        rows = [[*self.encoder.encode(e.text), self.answer_ids[e.label]] for e in batch]
        width = fixed_length or max(len(row) for row in rows)
        ids = torch.full((len(rows), width), self.pad_id)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = torch.tensor(row)
            mask[index, : len(row)] = 1
            labels[index, len(row) - 1] = row[-1]  # only the answer token is scored
        return ids, mask, labels

    def step(self, batch: Sequence[LabeledText], fixed_length: int | None = None) -> float:
        """One optimiser step on ``batch``; returns the answer-token loss before the step."""
        ids, mask, labels = self._tensors(batch, fixed_length)
        self.model.train()
        with _precision(self.bf16):
            output = self.model(input_ids=ids, attention_mask=mask)
            logits = output.logits[:, :-1].flatten(0, 1).float()
        loss = functional.cross_entropy(logits, labels[:, 1:].flatten(), ignore_index=-100)
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        self.optimizer.step()
        return float(loss.detach())


def _trainer_step(trainer: LocalTrainer, privacy: DpSettings | None = None) -> StepFunction:
    # Under DP the sampling rate is batch_size / len(batch) = 1: Poisson keeps the whole batch.
    def step(batch: Sequence[LabeledText]) -> None:
        trainer.train(batch, steps=1, batch_size=len(batch), lr=1e-3, privacy=privacy)

    return step


@dataclass
class Variants:
    """The step functions compared, and the cached trainer whose precompute is timed apart."""

    steps: dict[str, StepFunction]
    cached: LocalTrainer
    encoder: PromptEncoder


def build_variants(
    model_name: str,
    prompt: PromptFormat,
    labels: int,
    top_layers: int,
    bf16: bool = False,
    rank: int = 8,
) -> Variants:
    """Every variant compared, each on its own copy of the base model, all at one precision."""
    full = LoraSettings(rank=rank, alpha=2 * rank)
    top = LoraSettings(rank=rank, alpha=2 * rank, top_layers=top_layers)
    bare = BarePeftLoop(model_name, full, prompt, labels, bf16)
    options = TrainerOptions(device="cpu", bf16=bf16)
    everything = LocalTrainer(load_model(model_name), full, prompt, labels, options)
    uncached = dataclasses.replace(options, cache_features=False)
    top_plain = LocalTrainer(load_model(model_name), top, prompt, labels, uncached)
    top_cached = LocalTrainer(load_model(model_name), top, prompt, labels, options)
    steps: dict[str, StepFunction] = {
        f"peft loop, padded to {FIXED_LENGTH}": lambda b: bare.step(b, FIXED_LENGTH),
        BARE: bare.step,
        MINE: _trainer_step(everything),
        f"LocalTrainer, top {top_layers} layers, no cache": _trainer_step(top_plain),
        CACHED.format(top_layers): _trainer_step(top_cached),
        # The same trainer (model copy and feature cache): the adapter it trains is not timed.
        PRIVATE.format(top_layers): _trainer_step(top_cached, DpSettings(1.0, 1.0, noise_seed=0)),
    }
    return Variants(steps, top_cached, bare.encoder)


def measure_throughput(
    model_name: str,
    examples: Sequence[LabeledText],
    prompt: PromptFormat,
    labels: int,
    steps: int = 5,
    batch_size: int = 8,
    top_layers: int = 8,
    bf16: bool = False,
) -> Throughput:
    """Time ``steps`` training steps per variant on identical batches (after one warm-up).

    The cached variant's one-off cost of running the frozen layers over ``examples`` is
    reported as its own row, so the per-step numbers can be read with or without it.
    """
    variants = build_variants(model_name, prompt, labels, top_layers, bf16)
    rng = random.Random(0)
    batches = [rng.sample(list(examples), batch_size) for _ in range(steps + 1)]
    prompts = variants.encoder.encode_all(examples)
    started = time.perf_counter()
    variants.cached._features(prompts)
    precompute_seconds = time.perf_counter() - started
    seconds = dict.fromkeys(variants.steps, 0.0)
    share = CpuShare()
    for index, batch in enumerate(batches):
        if index == 1:  # the first batch warms up allocators and caches: not timed
            share.start()
        for name, step in variants.steps.items():
            began = time.perf_counter()
            step(batch)
            if index > 0:
                seconds[name] += time.perf_counter() - began
    others = share.stop()
    tokens = sum(len(variants.encoder.encode(e.text)) for b in batches[1:] for e in b)
    rows = [ThroughputRow(name, steps, tokens, seconds[name]) for name in variants.steps]
    precompute = ThroughputRow(
        "feature precompute (once per example)", 0, sum(map(len, prompts)), precompute_seconds
    )
    return Throughput([*rows, precompute], torch.get_num_threads(), bf16, others)
