"""Prompts and answer tokens: a label is one letter (``fedlora.data.answer_tokens``), scored as a
single next token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fedlora.data.types import answer_tokens
from fedlora.errors import FedloraError

# Long ICD-10-CM descriptions add little; capping keeps sequences (and step time) short.
DEFAULT_MAX_TEXT_TOKENS = 36


class LabeledText(Protocol):
    """What the trainer needs from an example (``fedlora.data.Example`` fits)."""

    @property
    def text(self) -> str: ...

    @property
    def label(self) -> int: ...


@dataclass(frozen=True)
class PromptFormat:
    """``{instruction}\\n{text_field}: {text}\\n{answer_field}:``, answered by one letter."""

    instruction: str
    text_field: str = "Text"
    answer_field: str = "Answer"

    def head(self) -> str:
        """The part before the example's text."""
        return f"{self.instruction}\n{self.text_field}:"

    def tail(self) -> str:
        """The part after the example's text; the answer letter follows it."""
        return f"\n{self.answer_field}:"


def prompt_format_for(corpus: str, instruction: str) -> PromptFormat:
    """The ICD-10-CM corpus speaks of diagnoses and chapters; any other corpus of text/answer."""
    if corpus.lower().startswith("icd10"):
        return PromptFormat(instruction, text_field="Diagnosis", answer_field="Chapter")
    return PromptFormat(instruction)


def answer_token_ids(tokenizer: Any, num_labels: int) -> list[int]:
    """Token id of each answer letter; each must be exactly one token."""
    ids = []
    for letter in answer_tokens(num_labels):
        encoded = tokenizer.encode(letter, add_special_tokens=False)
        if len(encoded) != 1:
            raise FedloraError(f"answer {letter!r} is not one token", "use another tokenizer")
        ids.append(int(encoded[0]))
    return ids


class PromptEncoder:
    """Turn examples into prompt token ids, caching the fixed head and tail."""

    def __init__(
        self, tokenizer: Any, fmt: PromptFormat, max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS
    ) -> None:
        self._tokenizer = tokenizer
        self._head = tokenizer.encode(fmt.head(), add_special_tokens=False)
        self._tail = tokenizer.encode(fmt.tail(), add_special_tokens=False)
        self._max_text_tokens = max_text_tokens

    @property
    def head(self) -> tuple[int, ...]:
        """The tokens every prompt of this format starts with."""
        return tuple(self._head)

    def encode(self, text: str) -> tuple[int, ...]:
        """Prompt ids: head + (capped) text + tail; the model's next token is the answer."""
        # The space before the text belongs to its first word, as the tokenizer would split it.
        body = self._tokenizer.encode(" " + text.strip(), add_special_tokens=False)
        return tuple(self._head + body[: self._max_text_tokens] + self._tail)

    def encode_all(self, examples: Sequence[LabeledText]) -> list[tuple[int, ...]]:
        """Encode many examples."""
        return [self.encode(example.text) for example in examples]
