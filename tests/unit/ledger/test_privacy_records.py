"""A session's privacy budget and each update's spent epsilon, as records and as arguments."""

from __future__ import annotations

import json
import math

import pytest
from tests.unit.ledger.test_contract import ROUND, SESSION, SPEC, UPDATE, RecordingContract

from fedlora.errors import FedloraError
from fedlora.ledger import ConsortiumContract, Privacy, Round, Session, SessionSpec
from fedlora.ledger._json import argument, decode

H = "c" * 64
BUDGET = {"epsilon": 8.0, "delta": 1e-5, "noiseMultiplier": 0.9, "clipNorm": 1.0}


def test_a_spec_sends_its_budget_only_when_it_has_one() -> None:
    plain = decode(json.dumps(SPEC).encode(), SessionSpec, "spec")
    assert plain.privacy is None
    assert "privacy" not in json.loads(argument(plain))
    private = decode(json.dumps(SPEC | {"privacy": BUDGET}).encode(), SessionSpec, "spec")
    assert private.privacy == Privacy(epsilon=8.0, delta=1e-5, noise_multiplier=0.9, clip_norm=1.0)
    assert json.loads(argument(private))["privacy"] == BUDGET


def test_sessions_and_updates_without_the_new_fields_still_decode() -> None:
    old_session = {key: value for key, value in SESSION.items() if key != "privacy"}
    assert decode(json.dumps(old_session).encode(), Session, "s").privacy is None
    old_update = {key: value for key, value in UPDATE.items() if key != "epsilonSpent"}
    old_round = ROUND | {"updates": {"Org1MSP/peer0": old_update}}
    update = decode(json.dumps(old_round).encode(), Round, "r").updates["Org1MSP/peer0"]
    assert update.epsilon_spent == 0.0


def test_a_session_and_an_update_carry_what_the_chain_wrote() -> None:
    session = decode(json.dumps(SESSION | {"privacy": BUDGET}).encode(), Session, "s")
    assert session.privacy is not None and session.privacy.epsilon == 8.0
    assert session.to_json()["privacy"] == BUDGET
    spent = ROUND | {"updates": {"Org1MSP/peer0": UPDATE | {"epsilonSpent": 2.5}}}
    update = decode(json.dumps(spent).encode(), Round, "r").updates["Org1MSP/peer0"]
    assert update.epsilon_spent == 2.5


def test_submit_update_sends_epsilon_spent_only_when_given() -> None:
    port = RecordingContract(ROUND)
    contract = ConsortiumContract(port)
    contract.submit_update("s1", 1, H, 120, {})
    contract.submit_update("s1", 2, H, 120, {}, epsilon_spent=2.5)
    contract.submit_update("s1", 3, H, 120, {}, epsilon_spent=1e-5)
    contract.submit_update("s1", 4, H, 120, {}, epsilon_spent=3)
    assert [call[2] for call in port.calls] == [
        ("s1", "1", H, "120", "{}"),
        ("s1", "2", H, "120", "{}", "2.5"),
        ("s1", "3", H, "120", "{}", "1e-05"),
        ("s1", "4", H, "120", "{}", "3.0"),
    ]


@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf, True])
def test_an_invalid_epsilon_spent_is_refused_before_it_is_sent(bad: float) -> None:
    port = RecordingContract(ROUND)
    with pytest.raises(FedloraError, match="epsilonSpent"):
        ConsortiumContract(port).submit_update("s1", 1, H, 120, {}, epsilon_spent=bad)
    assert port.calls == []
