"""A node in a session with a DP budget: DP-SGD rounds, the epsilon spent, refusal to overspend."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest
import torch
from tests.unit.daemon.fake_ledger import make_session
from tests.unit.daemon.test_coordinator import NODES, FakeTrainer, build, run_all
from tests.unit.daemon.test_local_training import LORA, toy_data

from fedlora.artifacts import Tensors
from fedlora.config import TrainingConfig
from fedlora.daemon import service
from fedlora.daemon.local_training import NodeTrainer
from fedlora.daemon.pending import PendingUpdate, RoundKey
from fedlora.daemon.ports import LocalUpdate
from fedlora.daemon.privacy import PrivacySpend
from fedlora.errors import FedloraError
from fedlora.ledger import Privacy
from fedlora.training.dp import epsilon_spent

# toy_data: 12 training examples; batch 4 gives the sampling rate 1/3.
BUDGET = Privacy(epsilon=40.0, delta=1e-5, noise_multiplier=0.8, clip_norm=1.0)
SETTINGS = TrainingConfig(model="tiny", steps=2, batch_size=4, lr=1e-2, seed=3)


def test_rounds_train_with_dp_and_report_the_composed_epsilon(tmp_path: Path) -> None:
    spend = PrivacySpend(BUDGET, tmp_path / "dp.json")
    trainer = NodeTrainer(SETTINGS, LORA, toy_data(), privacy=spend)
    start = trainer.initial_adapter(0)
    first = trainer.train(start, 1, 0.0)
    second = trainer.train(first.tensors, 2, 0.0)
    one_round = epsilon_spent([(0.8, 4 / 12, 2)], 1e-5)
    assert first.epsilon_spent == pytest.approx(one_round)
    assert second.epsilon_spent == pytest.approx(epsilon_spent([(0.8, 4 / 12, 4)], 1e-5))
    assert 0 < one_round < second.epsilon_spent <= BUDGET.epsilon
    assert any(not torch.equal(first.tensors[k], start[k]) for k in start)
    # A restarted node reads what it spent from its own file.
    assert PrivacySpend(BUDGET, tmp_path / "dp.json").spent() == pytest.approx(second.epsilon_spent)


def test_a_round_that_would_overspend_is_refused_before_training(tmp_path: Path) -> None:
    tight = msgspec.structs.replace(BUDGET, epsilon=epsilon_spent([(0.8, 4 / 12, 3)], 1e-5))
    path = tmp_path / "dp.json"
    trainer = NodeTrainer(SETTINGS, LORA, toy_data(), privacy=PrivacySpend(tight, path))
    update = trainer.train(trainer.initial_adapter(0), 1, 0.0)  # 2 steps: within
    recorded = path.read_bytes()
    trainer._trainer.set_adapter(update.tensors)
    with pytest.raises(FedloraError) as refused:
        trainer.train(update.tensors, 2, 0.0)  # 4 steps in all: over
    message = str(refused.value)
    assert message.startswith("round 2: training would bring this node's epsilon to")
    assert "above the session's privacy budget" in message and "\n" not in message
    assert path.read_bytes() == recorded  # nothing half-written
    after = trainer._trainer.get_adapter()
    assert all(torch.equal(after[k], update.tensors[k]) for k in after)  # nothing trained


def test_a_node_keeps_its_spending_per_session_and_none_without_a_budget(tmp_path: Path) -> None:
    config = SimpleNamespace(data_dir=tmp_path)
    plain = make_session("plain", ["Org1MSP/a", "Org2MSP/b"], 2, 2)
    assert service.privacy_spend(config, plain) is None  # type: ignore[arg-type]
    private = msgspec.structs.replace(plain, session_id="dp1", privacy=BUDGET)
    spend = service.privacy_spend(config, private)  # type: ignore[arg-type]
    assert spend is not None and spend.path == tmp_path / "privacy" / "dp1.json"
    assert spend.settings.noise_multiplier == 0.8 and spend.settings.noise_seed is None


def test_an_unreadable_spending_record_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "dp.json"
    path.write_text("{not json")
    with pytest.raises(FedloraError, match=r"privacy spending record .* is unreadable"):
        PrivacySpend(BUDGET, path)


class SpendingTrainer(FakeTrainer):
    """FakeTrainer whose updates carry a spent epsilon, as NodeTrainer's do under a budget."""

    def train(self, global_tensors: Tensors, round_number: int, proximal_mu: float) -> LocalUpdate:
        update = super().train(global_tensors, round_number, proximal_mu)
        return dataclasses.replace(update, epsilon_spent=0.5 * round_number + self.index)


def test_the_spent_epsilon_reaches_the_chain_also_after_a_restart(tmp_path: Path) -> None:
    chain, _, _, coordinators = build(tmp_path, rounds=2)
    for coordinator in coordinators:
        coordinator._executor._trainer = SpendingTrainer(NODES.index(coordinator.node_id))
    first = coordinators[0]
    pending = first._pending_file(RoundKey("s1", 1))
    first._executor.train(chain.session, RoundKey("s1", 1), record_to=pending)
    assert PendingUpdate.load(pending).epsilon_spent == 0.5
    # Restarted before the chain saw it: the recorded update, epsilon included, is resubmitted.
    chain.rounds[1] = msgspec.structs.replace(chain.rounds[1], updates={})
    chain.known_updates.clear()
    run_all(coordinators)
    spent = {
        (n, node): u.epsilon_spent for n, r in chain.rounds.items() for node, u in r.updates.items()
    }
    assert spent == {(r, node): 0.5 * r + i for r in (1, 2) for i, node in enumerate(NODES)}
