"""DP training on the live network (issue 17, the training half).

Three `fedlora node start` processes (tiny model) take part in a session whose spec fixes a
privacy budget: they train every round with DP-SGD at the session's noise multiplier and
clipping norm, and each update records the epsilon its node has spent, which the RDP accountant
gives for the node's own sampling rate and steps. In a second session whose budget one round
would pass, a node refuses to train in one line and writes nothing; the chain refuses that
node's update at the epsilon it would have spent (BUDGET_EXCEEDED).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fedlora.cli import demo_steps as demo
from fedlora.cli.app import app
from fedlora.cli.session import SessionLimits, build_spec
from fedlora.config import load_node_config
from fedlora.daemon.local_training import load_local_data
from fedlora.daemon.outcome import read_outcome
from fedlora.daemon.wiring import open_contract
from fedlora.ledger import Privacy
from fedlora.ledger.contract import rejection_code
from fedlora.ledger.errors import LedgerError
from fedlora.network import UpResult
from fedlora.training.dp import epsilon_spent

pytestmark = pytest.mark.fabric

BUDGET = Privacy(epsilon=3.0, delta=1e-5, noise_multiplier=1.0, clip_norm=1.0)
# Below what one round spends at these sampling rates (about 0.5): the first round is refused.
TIGHT = Privacy(epsilon=0.1, delta=1e-5, noise_multiplier=1.0, clip_norm=1.0)
STEPS, BATCH = 2, 4


def _create(
    settings: demo.DemoSettings, live: UpResult, nodes: list[demo.DemoNode], budget: Privacy
) -> None:
    """Org1's admin creates and starts the session with a privacy budget."""
    spec = build_spec(
        settings.session_id, model="tiny", rounds=settings.rounds, quorum=2, rule="fedavg",
        dataset="icd10:dirichlet:0.1:3:0", lora=(8, 16.0, 1), deadline=600,
        participants=tuple(node.node_id for node in nodes),
        limits=SessionLimits(privacy=budget),
    )  # fmt: skip
    admin = live.layout.admin_msp(live.state.plan.orgs[0])
    gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path), admin)
    with gateway:
        contract.create_session(spec)
        contract.start_session(settings.session_id)


def test_nodes_train_with_dp_and_one_that_would_overspend_is_refused(
    network: UpResult, tmp_path: Path
) -> None:
    token = secrets.token_hex(3)
    settings = demo.DemoSettings(
        tmp_path, model="tiny", rounds=2, steps=STEPS, batch_size=BATCH, top_layers=1,
        personalize_steps=0, session_id=f"dp-{token}",
    )  # fmt: skip
    nodes = demo.create_nodes(settings, network.state, network.layout, print)
    _create(settings, network, nodes, BUDGET)
    demo.run_nodes(settings, nodes, print)

    config = load_node_config(nodes[0].config_path)
    gateway, contract, _ = open_contract(config)
    with gateway:
        trail = contract.export_trail(settings.session_id)
    assert trail.session.status == "completed"
    for node in nodes:  # each update: the accountant's epsilon for that site's rate and steps
        node_config = load_node_config(node.config_path)
        examples = len(load_local_data(node_config.training, trail.session.dataset_tag).train)
        for round_ in trail.rounds:
            steps = STEPS * round_.round
            expected = epsilon_spent([(1.0, BATCH / examples, steps)], BUDGET.delta)
            assert round_.updates[node.node_id].epsilon_spent == pytest.approx(expected)
            assert 0 < expected < BUDGET.epsilon
        spending = node_config.data_dir / "privacy" / f"{settings.session_id}.json"
        assert json.loads(spending.read_text()) == [[1.0, BATCH / examples, STEPS]] * 2
    _check_audit_verify(nodes[0], settings.session_id, trail.rounds[-1].updates)
    _check_refusal(network, tmp_path, nodes, token)


def _check_audit_verify(node: demo.DemoNode, session_id: str, updates: dict) -> None:  # type: ignore[type-arg]
    """`audit verify` on the final adapter names each input node's spent epsilon."""
    outcome = read_outcome(load_node_config(node.config_path).data_dir, session_id)
    arguments = ["audit", "verify", outcome.adapter_dir, "--config", str(node.config_path)]
    result = CliRunner().invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.output
    privacy = json.loads(result.stdout)["privacy"]
    assert privacy["epsilon_budget"] == BUDGET.epsilon
    assert privacy["epsilon_spent"] == {n: u.epsilon_spent for n, u in updates.items()}


def _check_refusal(live: UpResult, tmp_path: Path, nodes: list[demo.DemoNode], token: str) -> None:
    """A node whose first round would pass the budget refuses; so does the chain."""
    settings = demo.DemoSettings(
        tmp_path, model="tiny", rounds=1, steps=STEPS, batch_size=BATCH, top_layers=1,
        personalize_steps=0, session_id=f"dp-tight-{token}",
    )  # fmt: skip
    _create(settings, live, nodes, TIGHT)
    node = nodes[2]
    command = demo.node_start_command(node.config_path, settings.session_id)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    refusal = re.search(
        r"round 1: training would bring this node's epsilon to ([0-9.e+-]+), above the "
        r"session's privacy budget of 0.1",
        done.stdout + done.stderr,
    )
    assert refusal is not None, done.stdout + done.stderr
    config = load_node_config(node.config_path)
    assert not (config.data_dir / "privacy" / f"{settings.session_id}.json").exists()
    gateway, contract, _ = open_contract(config)
    with gateway:
        assert contract.get_round(settings.session_id, 1).updates == {}  # nothing submitted
        with pytest.raises(LedgerError) as refused:
            contract.submit_update(
                settings.session_id, 1, "ab" * 32, 100, {}, float(refusal.group(1))
            )
    assert rejection_code(refused.value) == "BUDGET_EXCEEDED"
