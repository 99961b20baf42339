"""One dishonest member in a live 3-org session: the two honest nodes' model still wins.

Two honest nodes run `fedlora node start` as operators would. The third member is driven by
this test with the project's own Gateway client and exchange server, and tries what the
security review found possible: a timeout dated a day ahead (to fail the fresh session), a
back-dated update, an absurd example count, and updates whose bytes are a crafted
safetensors header (meant to crash whoever parses them). It serves those bytes like any node.
The session must complete, every round's aggregate built from the honest updates alone.
"""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from fedlora.artifacts import ContentStore
from fedlora.cli import demo_steps as demo
from fedlora.config import load_node_config
from fedlora.daemon.wiring import ChainAuthorizer, StoreSource, node_tls, open_contract
from fedlora.ledger import LedgerError, proposal
from fedlora.ledger.contract import ConsortiumContract, rejection_code
from fedlora.network import UpResult
from fedlora.transport import ArtifactServer, TrafficCounter

pytestmark = pytest.mark.fabric

ROUNDS = 2
DEADLINE_S = 45  # the attacker's turn as aggregator costs one aggregate deadline
DAY_NS = 86_400 * 10**9


def crafted_update(round_number: int) -> bytes:
    """A safetensors payload whose header has a list as its dtype, unique per round."""
    header = f'{{"w{round_number}": {{"dtype": [], "shape": [1], "data_offsets": [0, 4]}}}}'
    return struct.pack("<Q", len(header)) + header.encode() + bytes(4)


def refusal(action: object) -> str | None:
    """The contract's [CODE] for a refused call, None if it went through."""
    try:
        action()  # type: ignore[operator]
    except LedgerError as error:
        return rejection_code(error)
    return None


def dated(offset_ns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the project's Gateway client put a transaction time off by ``offset_ns``."""
    clock = SimpleNamespace(time_ns=lambda: time.time_ns() + offset_ns)
    monkeypatch.setattr(proposal, "time", clock)


class Attacker:
    """The dishonest member: submits crafted updates each round and serves their bytes."""

    def __init__(self, contract: ConsortiumContract, store: ContentStore, session_id: str):
        self.contract, self.store, self.session_id = contract, store, session_id
        self.submitted: dict[int, str] = {}
        self.refusals: dict[str, str | None] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            session = self.contract.get_session(self.session_id)
            if session.status != "running":
                return
            number = session.current_round
            if number not in self.submitted:
                self._submit(number)
            time.sleep(0.5)

    def _submit(self, number: int) -> None:
        sha = self.store.put(crafted_update(number))
        self.refusals[f"round {number}: 10^12 examples"] = refusal(
            lambda: self.contract.submit_update(self.session_id, number, sha, 10**12, {})
        )
        self.contract.submit_update(self.session_id, number, sha, 1_000_000, {"loss": 0.01})
        self.submitted[number] = sha


def test_a_session_completes_on_the_honest_nodes_model_despite_a_dishonest_member(
    network: UpResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = demo.DemoSettings(
        tmp_path, model="tiny", rounds=ROUNDS, steps=2, batch_size=4, top_layers=1,
        session_id="attacked", deadline_seconds=DEADLINE_S,
    )  # fmt: skip
    nodes = demo.create_nodes(settings, network.state, network.layout, print)
    honest, dishonest = nodes[:2], nodes[2]
    demo.start_session(settings, network.layout, network.state, nodes)
    config = load_node_config(dishonest.config_path)
    gateway, contract, node_id = open_contract(config)
    store = ContentStore(config.data_dir / "artifacts")
    attacker = Attacker(contract, store, "attacked")
    server = ArtifactServer(
        source=StoreSource(store), authorizer=ChainAuthorizer(contract), tls=node_tls(config),
        node_id=node_id, address=config.exchange.listen, traffic=TrafficCounter(),
    )  # fmt: skip
    with gateway, server:
        with monkeypatch.context() as forged:
            dated(DAY_NS, forged)
            attacker.refusals["timeout dated a day ahead"] = refusal(
                lambda: contract.report_timeout("attacked", 1)
            )
            dated(-10 * 60 * 10**9, forged)
            attacker.refusals["update dated 10 minutes back"] = refusal(
                lambda: contract.submit_update("attacked", 1, "ab" * 32, 10, {"loss": 1.0})
            )
        thread = threading.Thread(target=attacker.run, daemon=True)
        thread.start()
        try:
            demo.run_nodes(settings, honest, print)
        finally:
            attacker.stop.set()
            thread.join(timeout=10)
        trail = contract.export_trail("attacked")

    assert attacker.refusals == {
        "timeout dated a day ahead": "CLOCK_SKEW",
        "update dated 10 minutes back": "CLOCK_SKEW",
        **{f"round {r}: 10^12 examples": "BAD_ARGUMENT" for r in range(1, ROUNDS + 1)},
    }
    assert trail.session.status == "completed"
    honest_ids = {node.node_id for node in honest}
    for round_ in trail.rounds:
        assert round_.updates[dishonest.node_id].sha256 == attacker.submitted[round_.round]
        assert round_.proposal is not None and round_.phase == "final"
        assert {item.node_id for item in round_.proposal.inputs} == honest_ids
        assert round_.proposal.aggregator in honest_ids
