"""A session's privacy budget, enforced by the live chain (issue 17, the chain half).

An org admin creates a session whose spec fixes a differential-privacy budget; three nodes of
three orgs submit their updates with the epsilon each has spent, through the project's own
Gateway client, as their daemons do (test_dp_training_live runs the daemons). The chain accepts
updates within the budget, refuses one that would overspend (BUDGET_EXCEEDED) and one whose spent
epsilon went down (BAD_ARGUMENT), and no transaction of the session changes the budget. A session
without a budget keeps the five-argument SubmitUpdate and refuses a spent epsilon.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from fedlora.identity import load_msp_dir
from fedlora.ledger import (
    AggregateInput,
    Deadlines,
    Gateway,
    LedgerError,
    LoraSpec,
    Privacy,
    ProposalDraft,
    Rule,
    Session,
    SessionSpec,
)
from fedlora.ledger.contract import ConsortiumContract, elect_aggregator, rejection_code
from fedlora.network import UpResult

pytestmark = pytest.mark.fabric

BUDGET = Privacy(epsilon=3.0, delta=1e-5, noise_multiplier=1.1, clip_norm=1.0)


def sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def connect(network: UpResult, org_index: int, msp_dir: Path) -> tuple[Gateway, ConsortiumContract]:
    org = network.state.plan.orgs[org_index]
    msp = load_msp_dir(msp_dir, org.msp_id)
    gateway = Gateway.connect(
        org.peer_address, network.layout.peer_tls_ca(org).read_bytes(), msp.identity, msp.signer()
    )
    contract = gateway.network(network.state.plan.channel).contract("fedlora")
    return gateway, ConsortiumContract(contract)


@pytest.fixture
def chain(
    live_network: UpResult,
) -> Iterator[tuple[ConsortiumContract, dict[str, ConsortiumContract]]]:
    """Org1's admin and one registered node per org, each through its own Gateway."""
    layout, orgs = live_network.layout, live_network.state.plan.orgs
    with ExitStack() as stack:
        gateway, admin = connect(live_network, 0, layout.admin_msp(orgs[0]))
        stack.enter_context(gateway)
        nodes: dict[str, ConsortiumContract] = {}
        for index, org in enumerate(orgs[:3]):
            gateway, contract = connect(live_network, index, layout.user_msp(org))
            stack.enter_context(gateway)
            node_id = load_msp_dir(layout.user_msp(org), org.msp_id).identity.node_id
            if node_id not in {node.node_id for node in contract.list_nodes()}:
                contract.register_node(f"127.0.0.1:{7900 + index}", sha(f"privacy tls {node_id}"))
            nodes[node_id] = contract
        yield admin, nodes


def spec(session_id: str, participants: list[str], privacy: Privacy | None) -> SessionSpec:
    return SessionSpec(
        session_id=session_id, base_model="tiny", base_model_sha256=sha("base"),
        lora=LoraSpec(4, 8.0, 0.0, ("q_proj",)), dataset_tag="privacy-live", rounds=2, quorum=2,
        deadlines=Deadlines(600, 600, 600), rule=Rule("fedavg", {}),
        participants=tuple(participants), privacy=privacy,
    )  # fmt: skip


def refusal(action: Callable[[], object]) -> str | None:
    """The contract's [CODE] for a refused call, None if it went through."""
    try:
        action()
    except LedgerError as error:
        return rejection_code(error)
    return None


def finish_round(session: Session, number: int, nodes: dict[str, ConsortiumContract]) -> None:
    """The elected aggregator proposes over every update; another org's node accepts."""
    session_id = session.session_id
    aggregator = elect_aggregator(session.participants, number, 0)
    updates = nodes[aggregator].get_round(session_id, number).updates
    draft = ProposalDraft(
        inputs=tuple(AggregateInput(node, u.sha256) for node, u in sorted(updates.items())),
        rule=Rule("fedavg", {}), sha256=sha(f"{session_id} aggregate {number}"),
        weights={node: 1 / len(updates) for node in updates},
    )  # fmt: skip
    nodes[aggregator].propose_aggregate(session_id, number, draft)
    endorser = next(node for node in session.participants if node != aggregator)
    # The proposal committed on the aggregator's peer; the endorser's peer may be a block behind.
    deadline = time.monotonic() + 15
    while nodes[endorser].get_round(session_id, number).phase != "endorsing":
        assert time.monotonic() < deadline, "the endorser's peer never saw the proposal"
        time.sleep(0.1)
    nodes[endorser].endorse_aggregate(session_id, number, draft.sha256, True)
    assert nodes[endorser].get_round(session_id, number).phase == "final"


def test_the_chain_keeps_each_node_within_the_sessions_privacy_budget(
    chain: tuple[ConsortiumContract, dict[str, ConsortiumContract]],
) -> None:
    admin, nodes = chain
    a, b, c = sorted(nodes)
    session_id = f"dp-{secrets.token_hex(4)}"
    created = admin.create_session(spec(session_id, [a, b, c], BUDGET))
    assert created.privacy == BUDGET
    session = admin.start_session(session_id)

    def submit(node: str, number: int, spent: float | None) -> Callable[[], object]:
        update = sha(f"{session_id} {node} {number} {spent}")
        return lambda: nodes[node].submit_update(session_id, number, update, 100, {}, spent)

    # Round 1: no spent epsilon, or more than the budget, is refused; within it is accepted.
    assert refusal(submit(a, 1, None)) == "BAD_ARGUMENT"
    assert refusal(submit(a, 1, 3.5)) == "BUDGET_EXCEEDED"
    for node, spent in ((a, 1.0), (b, 1.5), (c, 3.0)):  # c spends its whole budget at once
        assert refusal(submit(node, 1, spent)) is None
    finish_round(session, 1, nodes)

    # Round 2: a node whose spent epsilon went down, or past the budget, is refused.
    assert refusal(submit(a, 2, 0.5)) == "BAD_ARGUMENT"
    assert refusal(submit(b, 2, 3.01)) == "BUDGET_EXCEEDED"
    for node, spent in ((a, 1.0), (b, 2.5), (c, 3.0)):
        assert refusal(submit(node, 2, spent)) is None
    finish_round(session, 2, nodes)

    trail = admin.export_trail(session_id)
    assert trail.session.status == "completed"
    ledger = {
        (r.round, node): u.epsilon_spent for r in trail.rounds for node, u in r.updates.items()
    }
    assert ledger == {(1, a): 1.0, (1, b): 1.5, (1, c): 3.0, (2, a): 1.0, (2, b): 2.5, (2, c): 3.0}
    versions = admin.history("session", session_id)
    assert len(versions) >= 3
    for version in versions:
        assert version.value is not None and version.value["privacy"] == BUDGET.to_json()


def test_a_session_without_a_budget_refuses_a_spent_epsilon(
    chain: tuple[ConsortiumContract, dict[str, ConsortiumContract]],
) -> None:
    admin, nodes = chain
    a, b, c = sorted(nodes)
    session_id = f"plain-{secrets.token_hex(4)}"
    assert admin.create_session(spec(session_id, [a, b, c], None)).privacy is None
    admin.start_session(session_id)
    update = sha(f"{session_id} {a}")
    refused = refusal(lambda: nodes[a].submit_update(session_id, 1, update, 100, {}, 0.5))
    assert refused == "BAD_ARGUMENT"
    round_ = nodes[a].submit_update(session_id, 1, update, 100, {"loss": 0.5})  # five arguments
    assert round_.updates[a].epsilon_spent == 0.0
