"""Decoder layers run over a batch whose prompts all begin with the same tokens.

Every prompt starts with the prompt format's fixed head (17 of ICD-10's ~30 tokens). Under
causal attention the head's hidden states depend on the head alone, so they are the same in
every row: ``run_layers`` computes them once, as a batch of one, and each row's own tokens
attend to the head's keys and values. In the top layer only the answer position matters:
``run_last_layer`` computes the other positions' keys and values and nothing else. The result
equals running every full row (up to float rounding); tests compare logits and gradients.
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


def _rotate(states: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding of [batch, heads, positions, dim] (transformers' rule)."""
    half = states.shape[-1] // 2
    rotated = torch.cat((-states[..., half:], states[..., :half]), dim=-1)
    return states * cos + rotated * sin


def _keys_values(
    layer: Any, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The layer's normed input, and its rotated keys and values [batch, kv heads, n, dim]."""
    attention = layer.self_attn
    normed = layer.input_layernorm(hidden)
    shape = (*hidden.shape[:-1], -1, attention.head_dim)
    keys = attention.k_proj(normed).view(shape).transpose(1, 2)
    values = attention.v_proj(normed).view(shape).transpose(1, 2)
    return normed, _rotate(keys, cos.unsqueeze(1), sin.unsqueeze(1)), values


def run_last_layer(
    decoder: Any, layer: Any, head: torch.Tensor, rows: torch.Tensor, last: torch.Tensor
) -> torch.Tensor:
    """Run the top decoder ``layer`` for each row's position ``last`` only: [batch, hidden].

    Only that position feeds the answer. Every other position (and the head) contributes its
    key and value and nothing else, so the query, the attention output projection and the
    MLP (94 % of a SmolLM2 layer's weights) run on one row each instead of on every position.
    Same result as ``run_layers`` followed by picking ``last``, up to float rounding.
    """
    attention = layer.self_attn
    head_length, length, batch = head.shape[1], rows.shape[1], rows.shape[0]
    positions = torch.arange(head_length + length, device=rows.device).unsqueeze(0)
    cos, sin = decoder.rotary_emb(rows, positions)
    _, head_keys, head_values = _keys_values(
        layer, head, cos[:, :head_length], sin[:, :head_length]
    )
    normed, keys, values = _keys_values(layer, rows, cos[:, head_length:], sin[:, head_length:])
    keys = torch.cat([head_keys.expand(batch, -1, -1, -1), keys], dim=2)
    values = torch.cat([head_values.expand(batch, -1, -1, -1), values], dim=2)
    index = torch.arange(batch, device=rows.device)
    where = head_length + last  # each answer position, counted from the head's first token
    query = attention.q_proj(normed[index, last]).view(batch, -1, 1, attention.head_dim)
    query = _rotate(query, cos[0, where][:, None, None], sin[0, where][:, None, None])
    groups = attention.num_key_value_groups
    visible = positions[0][None, :] <= where[:, None]  # causal: up to the answer position
    mixed = torch.nn.functional.scaled_dot_product_attention(
        query,
        keys.repeat_interleave(groups, dim=1),
        values.repeat_interleave(groups, dim=1),
        attn_mask=visible[:, None, None, :],
        dropout_p=attention.attention_dropout if layer.training else 0.0,
        scale=attention.scaling,
    )
    hidden = rows[index, last] + attention.o_proj(mixed.reshape(batch, -1))
    output: torch.Tensor = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
    return output
