"""Decoder layers run over a batch whose prompts all begin with the same tokens.

Every prompt starts with the prompt format's fixed head (17 of ICD-10's ~30 tokens). Under
causal attention the head's hidden states depend on the head alone, so they are the same in
every row: ``run_layers`` computes them once, as a batch of one, and each row's own tokens
attend to the head's keys and values. The result equals running every full row (up to float
rounding); the head's share of the work is paid once per batch instead of once per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class HeadKeys:
    """Stands in for a transformers ``Cache`` in one decoder layer.

    The layer's attention calls ``update`` with the keys and values it just computed. The head's
    pass stores them; each later pass (the rows' own tokens) gets them prepended, repeated
    across its batch, so the rows attend to the head as if it were part of each row.
    """

    def __init__(self) -> None:
        self._keys: torch.Tensor | None = None
        self._values: torch.Tensor | None = None

    def update(
        self, keys: torch.Tensor, values: torch.Tensor, *_: object, **__: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values to attend to: the head's (once stored) followed by these."""
        if self._keys is None or self._values is None:
            self._keys, self._values = keys, values
            return keys, values
        batch = keys.shape[0]
        return (
            torch.cat([self._keys.expand(batch, -1, -1, -1), keys], dim=2),
            torch.cat([self._values.expand(batch, -1, -1, -1), values], dim=2),
        )


def run_layers(
    decoder: Any, head: torch.Tensor, rows: torch.Tensor, layers: Sequence[Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``layers`` over a shared head [1, H_len, hidden] and right-padded rows [B, len, hidden].

    Parameters
    ----------
    decoder
        The Llama decoder (its rotary embedding gives positions; the head starts at 0).
    head, rows
        Hidden states entering the first layer. Padding sits at the end of each row, and
        attention is causal, so no real token ever attends to padding.
    layers
        Decoder layers with sdpa attention (the boolean masks below are sdpa's format).

    Returns
    -------
    tuple of torch.Tensor
        Hidden states leaving the last layer: the head's and the rows'.
    """
    head_length, length = head.shape[1], rows.shape[1]
    positions = torch.arange(head_length + length, device=rows.device).unsqueeze(0)
    cos, sin = decoder.rotary_emb(rows, positions)
    allowed = torch.ones(
        head_length + length, head_length + length, dtype=torch.bool, device=rows.device
    ).tril()
    for layer in layers:
        keys = HeadKeys()
        if head_length:
            next_head = layer(
                head,
                attention_mask=allowed[None, None, :head_length, :head_length],
                position_ids=positions[:, :head_length],
                position_embeddings=(cos[:, :head_length], sin[:, :head_length]),
                past_key_values=keys,
            )
        rows = layer(
            rows,
            attention_mask=allowed[None, None, head_length:, :],
            position_ids=positions[:, head_length:],
            position_embeddings=(cos[:, head_length:], sin[:, head_length:]),
            past_key_values=keys,
        )
        head = next_head if head_length else head
    return head, rows
