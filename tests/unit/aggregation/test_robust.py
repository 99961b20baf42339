"""One client's lie about its size or one outsized update moves the aggregate only so far."""

from __future__ import annotations

import torch

from fedlora.aggregation import ClientUpdate, aggregate, strategy_from_name
from fedlora.aggregation.robust import capped_counts, clip_factors, delta_norm

NAMES = ("m.lora_A.weight", "m.lora_B.weight")


def _adapter(value: float) -> dict[str, torch.Tensor]:
    return {NAMES[0]: torch.full((2, 4), value), NAMES[1]: torch.full((4, 2), value)}


def test_a_declared_count_is_capped_relative_to_the_median() -> None:
    assert capped_counts([100, 120, 10**6], 2.0) == [100, 120, 240]
    assert capped_counts([100, 120, 10**6], 0.0) == [100, 120, 10**6]  # off


def test_an_update_is_clipped_to_a_multiple_of_the_median_change() -> None:
    assert clip_factors([1.0, 2.0, 100.0], 2.0) == [1.0, 1.0, 0.04]
    assert clip_factors([1.0, 2.0, 100.0], 0.0) == [1.0, 1.0, 1.0]


def test_the_norm_does_not_depend_on_the_order_of_summation() -> None:
    generator = torch.Generator().manual_seed(0)
    update = {NAMES[0]: torch.randn(64, 64, generator=generator, dtype=torch.float64) * 1e8}
    update[NAMES[0]][0, 0] = 1e-8  # magnitudes far apart: naive float sums depend on the order
    zero = {NAMES[0]: torch.zeros(64, 64, dtype=torch.float64)}
    flipped = {NAMES[0]: update[NAMES[0]].flip(0).flip(1)}
    assert delta_norm(update, zero, NAMES[:1]) == delta_norm(flipped, zero, NAMES[:1])


def test_a_liar_with_a_huge_count_and_a_huge_update_is_bounded() -> None:
    start = _adapter(0.0)
    honest = [ClientUpdate("Org1MSP/a", _adapter(0.1), 100, 1.0),
              ClientUpdate("Org2MSP/b", _adapter(0.1), 120, 1.0)]  # fmt: skip
    liar = ClientUpdate("Org3MSP/c", _adapter(-1000.0), 10**6, 1.0)
    plain = strategy_from_name("fedavg")
    robust = strategy_from_name("fedavg", examples_cap=2.0, clip_norm=2.0)

    poisoned = aggregate(start, [*honest, liar], plain).tensors[NAMES[1]]
    bounded = aggregate(start, [*honest, liar], robust)

    assert float(poisoned.mean()) < -999  # FedAvg: the liar's adapter is the global model
    assert bounded.weights["Org3MSP/c"] == 240 / 460  # capped at 2 x the median count
    assert bounded.clip_factors["Org3MSP/c"] < 1 == bounded.clip_factors["Org1MSP/a"]
    # its change is clipped to 2 x the median change (0.1 per entry): -0.2 per entry
    expected = (0.1 * 100 + 0.1 * 120 - 0.2 * 240) / 460
    assert torch.allclose(bounded.tensors[NAMES[1]], torch.full((4, 2), expected))


def test_honest_clients_within_the_bounds_aggregate_exactly_as_without_them() -> None:
    start = _adapter(0.0)
    updates = [ClientUpdate("Org1MSP/a", _adapter(0.1), 100, 1.0),
               ClientUpdate("Org2MSP/b", _adapter(0.15), 150, 1.0),
               ClientUpdate("Org3MSP/c", _adapter(0.12), 120, 1.0)]  # fmt: skip
    plain = aggregate(start, updates, strategy_from_name("fedavg"))
    robust = aggregate(
        start, updates, strategy_from_name("fedavg", examples_cap=2.0, clip_norm=2.0)
    )
    for name in NAMES:
        assert torch.equal(plain.tensors[name], robust.tensors[name])
