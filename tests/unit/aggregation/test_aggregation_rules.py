"""Aggregation rules on tiny tensors with hand-computed expectations."""

from __future__ import annotations

import pytest
import torch

from fedlora.aggregation import (
    AdapterMismatchError,
    ClientUpdate,
    aggregate,
    client_weights,
    strategy_from_name,
)
from fedlora.artifacts import encode_adapter
from fedlora.errors import FedloraError

A = "model.layers.0.self_attn.q_proj.lora_A.weight"
B = "model.layers.0.self_attn.q_proj.lora_B.weight"


def _adapter(a: list[list[float]], b: list[list[float]]) -> dict[str, torch.Tensor]:
    return {A: torch.tensor(a, dtype=torch.float64), B: torch.tensor(b, dtype=torch.float64)}


def _update(client: str, a: list[list[float]], b: list[list[float]], n: int = 1, loss: float = 1.0):
    return ClientUpdate(client_id=client, tensors=_adapter(a, b), num_examples=n, loss=loss)


def test_fedavg_weights_are_example_shares_and_sum_to_one() -> None:
    weights = client_weights(["b", "a", "c"], [10, 30, 60], [5.0, 1.0, 0.1])
    assert weights == pytest.approx({"a": 0.3, "b": 0.1, "c": 0.6})
    assert list(weights) == ["a", "b", "c"]
    assert sum(weights.values()) == pytest.approx(1.0)


def test_fairness_q_shifts_weight_to_the_higher_loss_client() -> None:
    # Equal data, losses 1 and 2, q = 2: raw weights 1 and 4, so 0.2 and 0.8.
    weights = client_weights(["low", "high"], [50, 50], [1.0, 2.0], fairness_q=2.0)
    assert weights == pytest.approx({"high": 0.8, "low": 0.2})
    plain = client_weights(["low", "high"], [50, 50], [1.0, 2.0], fairness_q=0.0)
    assert plain == pytest.approx({"high": 0.5, "low": 0.5})


def test_all_zero_losses_fall_back_to_fedavg_weights() -> None:
    weights = client_weights(["a", "b"], [1, 3], [0.0, 0.0], fairness_q=3.0)
    assert weights == pytest.approx({"a": 0.25, "b": 0.75})


@pytest.mark.parametrize(
    ("ids", "counts", "losses", "problem"),
    [
        ([], [], [], "no client updates"),
        (["a", "a"], [1, 1], [1.0, 1.0], "twice"),
        (["a"], [0], [1.0], "num_examples"),
        (["a"], [True], [1.0], "num_examples"),
        (["a"], [1], [float("nan")], "loss"),
        (["a"], [1], [-0.5], "loss"),
    ],
)
def test_client_weights_refuse_bad_reports(
    ids: list[str], counts: list[int], losses: list[float], problem: str
) -> None:
    with pytest.raises(FedloraError, match=problem):
        client_weights(ids, counts, losses)


def test_fedavg_of_identical_updates_returns_them_exactly() -> None:
    generator = torch.Generator().manual_seed(0)
    tensors = {A: torch.randn(4, 8, generator=generator), B: torch.randn(8, 4, generator=generator)}
    global_tensors = {name: torch.zeros_like(t) for name, t in tensors.items()}
    updates = [
        ClientUpdate(f"c{i}", {k: v.clone() for k, v in tensors.items()}, n, 1.0)
        for i, n in enumerate([3, 7, 11])
    ]
    result = aggregate(global_tensors, updates, strategy_from_name("fedavg"))
    assert all(torch.equal(result.tensors[name], tensors[name]) for name in tensors)


def test_fedit_averages_a_and_b_separately_with_example_weights() -> None:
    global_tensors = _adapter([[0.0, 0.0]], [[0.0], [0.0]])
    updates = [
        _update("x", [[1.0, 2.0]], [[4.0], [0.0]], n=1),
        _update("y", [[3.0, 6.0]], [[0.0], [8.0]], n=3),
    ]
    result = aggregate(global_tensors, updates, strategy_from_name("fedavg"))
    assert result.weights == pytest.approx({"x": 0.25, "y": 0.75})
    assert result.tensors[A].tolist() == [[2.5, 5.0]]
    assert result.tensors[B].tolist() == [[1.0], [6.0]]
    assert result.server_state == {}


def test_ffa_is_exact_while_fedit_product_of_averages_is_not() -> None:
    # FedIT with different A: mean(B_i A_i) = 0.5 * I, but mean(B) mean(A) = 0.25 everywhere.
    fedit_global = _adapter([[0.0, 0.0]], [[0.0], [0.0]])
    fedit = aggregate(
        fedit_global,
        [_update("x", [[1.0, 0.0]], [[1.0], [0.0]]), _update("y", [[0.0, 1.0]], [[0.0], [1.0]])],
        strategy_from_name("fedavg"),
    )
    product = fedit.tensors[B] @ fedit.tensors[A]
    assert product.tolist() == [[0.25, 0.25], [0.25, 0.25]]
    assert not torch.allclose(product, 0.5 * torch.eye(2, dtype=torch.float64))
    # FFA keeps the shared A, so (mean B) A equals mean(B_i A) exactly.
    shared_a = [[1.0, -2.0]]
    ffa = aggregate(
        _adapter(shared_a, [[0.0], [0.0]]),
        [_update("x", shared_a, [[1.0], [3.0]], n=1), _update("y", shared_a, [[5.0], [-1.0]], n=3)],
        strategy_from_name("ffa"),
    )
    a = torch.tensor(shared_a, dtype=torch.float64)
    mean_of_products = (
        0.25 * torch.tensor([[1.0], [3.0]]).double() @ a
        + 0.75 * torch.tensor([[5.0], [-1.0]]).double() @ a
    )
    assert torch.equal(ffa.tensors[A], a)
    assert torch.allclose(ffa.tensors[B] @ ffa.tensors[A], mean_of_products, rtol=0, atol=1e-12)


def test_ffa_refuses_a_client_that_changed_the_frozen_a() -> None:
    global_tensors = _adapter([[1.0, 1.0]], [[0.0], [0.0]])
    with pytest.raises(AdapterMismatchError, match="frozen"):
        aggregate(
            global_tensors,
            [
                _update("x", [[1.0, 1.0]], [[1.0], [1.0]]),
                _update("y", [[1.0, 1.5]], [[1.0], [1.0]]),
            ],
            strategy_from_name("ffa"),
        )


def test_avgm_momentum_across_two_rounds_matches_the_closed_form() -> None:
    # lr 1, momentum 0.5. Round 1: delta 1, v = 1, x = 0 + 1 = 1.
    # Round 2: delta = 3 - 1 = 2, v = 0.5 * 1 + 2 = 2.5, x = 1 + 2.5 = 3.5.
    config = strategy_from_name("fedavgm", momentum=0.5, server_lr=1.0)
    first = aggregate(
        _adapter([[0.0]], [[0.0]]), [_update("c", [[1.0]], [[1.0]])], config, server_state=None
    )
    assert first.tensors[A].item() == 1.0
    second = aggregate(
        first.tensors, [_update("c", [[3.0]], [[3.0]])], config, server_state=first.server_state
    )
    assert second.tensors[A].item() == 3.5
    assert second.server_state["avgm_v:" + A].item() == 2.5


def test_fedadam_step_matches_reddi_et_al() -> None:
    # delta 0.1: m = 0.1 * 0.1 = 0.01, v = 0.01 * 0.01 = 1e-4, step = 0.01 * 0.01 / (0.01 + 1e-3).
    config = strategy_from_name("fedadam", server_lr=0.01, momentum=0.9, beta2=0.99, eps=1e-3)
    result = aggregate(_adapter([[0.0]], [[0.0]]), [_update("c", [[0.1]], [[0.1]])], config)
    assert result.tensors[A].item() == pytest.approx(0.01 * 0.01 / 0.011, rel=1e-12)
    assert result.server_state["adam_m:" + A].item() == pytest.approx(0.01, rel=1e-12)
    assert result.server_state["adam_v:" + A].item() == pytest.approx(1e-4, rel=1e-12)


def test_server_lr_scales_the_plain_step() -> None:
    config = strategy_from_name("fedavg", server_lr=0.5)
    result = aggregate(_adapter([[2.0]], [[2.0]]), [_update("c", [[4.0]], [[0.0]])], config)
    assert result.tensors[A].item() == 3.0 and result.tensors[B].item() == 1.0


def test_server_state_from_another_optimizer_is_refused() -> None:
    adam_state = aggregate(
        _adapter([[0.0]], [[0.0]]), [_update("c", [[1.0]], [[1.0]])], strategy_from_name("fedadam")
    ).server_state
    with pytest.raises(AdapterMismatchError, match="server state"):
        aggregate(
            _adapter([[0.0]], [[0.0]]),
            [_update("c", [[1.0]], [[1.0]])],
            strategy_from_name("fedavgm"),
            server_state=adam_state,
        )


def test_result_keeps_the_global_dtype() -> None:
    global_tensors = {
        A: torch.zeros(2, 3, dtype=torch.bfloat16),
        B: torch.zeros(3, 2, dtype=torch.bfloat16),
    }
    tensors = {A: global_tensors[A].clone(), B: torch.ones_like(global_tensors[B])}
    update = ClientUpdate("c", tensors, 1, 1.0)
    result = aggregate(global_tensors, [update], strategy_from_name("fedlora"))
    assert {t.dtype for t in result.tensors.values()} == {torch.bfloat16}


def _random_round(seed: int) -> tuple[dict[str, torch.Tensor], list[ClientUpdate]]:
    generator = torch.Generator().manual_seed(seed)
    shapes = {
        f"layers.{i}.{kind}.lora_{ab}.weight": (8, 16) if ab == "A" else (16, 8)
        for i in range(3)
        for kind in ("q_proj", "v_proj")
        for ab in "AB"
    }
    global_tensors = {
        name: torch.randn(shape, generator=generator) for name, shape in shapes.items()
    }
    updates = []
    for index, client in enumerate(["site-c", "site-a", "site-b", "site-d"]):
        tensors = {
            name: value.clone()
            if ".lora_A." in name
            else value + torch.randn(value.shape, generator=generator)
            for name, value in global_tensors.items()
        }
        updates.append(ClientUpdate(client, tensors, 10 + 7 * index, 0.5 + 0.3 * index))
    return global_tensors, updates


@pytest.mark.parametrize("name", ["fedavg", "ffa", "fedavgm", "fedadam", "qfedavg", "fedlora"])
def test_aggregation_is_bitwise_deterministic_whatever_the_update_order(name: str) -> None:
    global_tensors, updates = _random_round(seed=3)
    config = strategy_from_name(name)
    first = aggregate(global_tensors, updates, config)
    again = aggregate(global_tensors, updates, config)
    shuffled = aggregate(global_tensors, [updates[i] for i in (2, 0, 3, 1)], config)
    encoded = encode_adapter(first.tensors)
    assert encode_adapter(again.tensors) == encoded
    assert encode_adapter(shuffled.tensors) == encoded
    assert encode_adapter(shuffled.server_state) == encode_adapter(first.server_state)
    assert shuffled.weights == first.weights


def test_empty_and_duplicate_updates_are_refused() -> None:
    global_tensors = _adapter([[0.0]], [[0.0]])
    with pytest.raises(FedloraError, match="no client updates"):
        aggregate(global_tensors, [], strategy_from_name("fedavg"))
    twice = [_update("c", [[1.0]], [[1.0]]), _update("c", [[2.0]], [[2.0]])]
    with pytest.raises(FedloraError, match="twice"):
        aggregate(global_tensors, twice, strategy_from_name("fedavg"))


def test_a_mismatched_update_is_named_by_client() -> None:
    global_tensors = _adapter([[0.0]], [[0.0]])
    bad = ClientUpdate("site-b", {A: torch.zeros(1, 1, dtype=torch.float64)}, 1, 1.0)
    with pytest.raises(AdapterMismatchError, match="site-b"):
        aggregate(global_tensors, [bad], strategy_from_name("fedavg"))
