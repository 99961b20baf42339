"""Helpers for trainer tests: the tiny random Llama with SmolLM2's tokenizer, and toy examples."""

from __future__ import annotations

from collections.abc import Callable

from fedlora.data import Example
from fedlora.training import LocalTrainer, PromptFormat

NUM_LABELS = 3
TOY_FORMAT = PromptFormat("Pick the colour's letter.")


def toy_examples(count: int) -> tuple[Example, ...]:
    """Label = which colour word the text names; learnable by a tiny model in a few steps."""
    colours = ("red", "green", "blue")
    return tuple(
        Example(text=f"case {index} is {colours[index % NUM_LABELS]}", label=index % NUM_LABELS)
        for index in range(count)
    )


MakeTrainer = Callable[..., LocalTrainer]
