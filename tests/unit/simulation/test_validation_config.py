"""simulate --validation: sites are scored on validation rows, never on their test split."""

from __future__ import annotations

import dataclasses

from fedlora.simulation.config import SimulationConfig, load_federated_data


def test_validation_replaces_every_test_split_and_the_global_test() -> None:
    config = SimulationConfig(train_per_site=100, test_per_site=60, validation_per_site=30)
    tuned = load_federated_data(config, seed=1)
    plain = load_federated_data(dataclasses.replace(config, validation_per_site=0), seed=1)
    assert tuned.global_test == ()
    for site, same_site in zip(tuned.clients, plain.clients, strict=True):
        assert site.train == same_site.train
        assert len(site.test) == 30
        assert {e.text for e in site.test}.isdisjoint(e.text for e in same_site.test)


def test_a_config_without_validation_keeps_its_digest() -> None:
    # Result files written before the field existed are still found (reruns resume).
    assert SimulationConfig().digest() == SimulationConfig(validation_per_site=0).digest()
    assert SimulationConfig().digest() != SimulationConfig(validation_per_site=10).digest()
