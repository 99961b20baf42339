"""Bit-for-bit agreement with a plain-Python float64 reference of each rule.

CPython float arithmetic is unfused IEEE double: if the tensor code matches it bit for bit,
it does not depend on vector width or fused multiply-add, i.e. on the CPU that recomputes it.
"""

from __future__ import annotations

import math
import struct

import pytest
import torch

from fedlora.aggregation import ClientUpdate, aggregate, strategy_from_name

NAME = "layers.0.v_proj.lora_B.weight"
# Large enough for torch to split the work across threads and vector lanes, odd for a tail.
SIZE = 40_001


def _to_float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _round(seed: int) -> tuple[list[float], list[tuple[str, list[float], int, float]]]:
    generator = torch.Generator().manual_seed(seed)
    global_values = [_to_float32(v) for v in torch.randn(SIZE, generator=generator).tolist()]
    clients = []
    for index, client in enumerate(["gamma", "alpha", "beta"]):
        values = [_to_float32(v) for v in (torch.randn(SIZE, generator=generator) * 3).tolist()]
        clients.append((client, values, 5 + 11 * index, 0.7 + 0.45 * index))
    return global_values, clients


def _reference_average(
    clients: list[tuple[str, list[float], int, float]], q: float
) -> tuple[list[float], dict[str, float]]:
    ordered = sorted(clients)
    raw = [n * loss**q if q else float(n) for _, _, n, loss in ordered]
    weights = [value / math.fsum(raw) for value in raw]
    average = [0.0] * len(ordered[0][1])
    for (_, values, _, _), weight in zip(ordered, weights, strict=True):
        average = [total + value * weight for total, value in zip(average, values, strict=True)]
    return average, {client: w for (client, _, _, _), w in zip(ordered, weights, strict=True)}


def _run(name: str, seed: int, **overrides: float) -> tuple[list[float], list[float], list]:
    global_values, clients = _round(seed)
    updates = [
        ClientUpdate(client, {NAME: torch.tensor(values, dtype=torch.float32)}, n, loss)
        for client, values, n, loss in clients
    ]
    config = strategy_from_name(name, **overrides)
    result = aggregate({NAME: torch.tensor(global_values)}, updates, config)
    return result.tensors[NAME].tolist(), global_values, clients


@pytest.mark.parametrize(("name", "q"), [("fedavg", 0.0), ("qfedavg", 3.0)])
def test_plain_average_matches_the_reference_bitwise(name: str, q: float) -> None:
    got, _, clients = _run(name, seed=1)
    average, _ = _reference_average(clients, q)
    assert got == [_to_float32(value) for value in average]


def test_server_momentum_matches_the_reference_bitwise() -> None:
    got, global_values, clients = _run("fedavgm", seed=2, momentum=0.5, server_lr=0.7)
    average, _ = _reference_average(clients, 0.0)
    # First round: velocity = delta; new = global + lr * velocity.
    expected = [g + ((a - g) * 0.7) for g, a in zip(global_values, average, strict=True)]
    assert got == [_to_float32(value) for value in expected]


def test_fedadam_matches_the_reference_bitwise() -> None:
    got, global_values, clients = _run(
        "fedadam", seed=3, server_lr=0.05, momentum=0.9, beta2=0.99, eps=1e-3
    )
    average, _ = _reference_average(clients, 0.0)
    expected = []
    for g, a in zip(global_values, average, strict=True):
        delta = a - g
        first = 0.0 * 0.9 + delta * (1.0 - 0.9)
        second = 0.0 * 0.99 + (delta * delta) * (1.0 - 0.99)
        expected.append(g + (first / (math.sqrt(second) + 1e-3)) * 0.05)
    assert got == [_to_float32(value) for value in expected]


def test_thread_count_does_not_change_the_bits() -> None:
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single, _, _ = _run("fedlora", seed=4)
        torch.set_num_threads(max(2, threads))
        multi, _, _ = _run("fedlora", seed=4)
    finally:
        torch.set_num_threads(threads)
    assert single == multi
