"""The demo registers each node once, and refuses a folder whose node the chain knows otherwise."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fedlora.cli import demo_steps
from fedlora.errors import FedloraError

NODE = "Org1MSP/node1@org1.fedlora.local"


class _Contract:
    def __init__(self, registered: list[Any]) -> None:
        self.registered = registered
        self.calls: list[tuple[str, str]] = []

    def list_nodes(self) -> list[Any]:
        return self.registered

    def register_node(self, endpoint: str, fingerprint: str) -> None:
        self.calls.append((endpoint, fingerprint))


def _wire(monkeypatch: pytest.MonkeyPatch, contract: _Contract, fingerprint: str) -> None:
    config = SimpleNamespace(exchange=SimpleNamespace(endpoint="127.0.0.1:21410"))
    monkeypatch.setattr(demo_steps, "load_node_config", lambda path: config)
    monkeypatch.setattr(
        demo_steps, "open_contract", lambda c: (contextlib.nullcontext(), contract, NODE)
    )
    monkeypatch.setattr(demo_steps, "node_tls", lambda c: SimpleNamespace(fingerprint=fingerprint))


def _record(fingerprint: str, endpoint: str = "127.0.0.1:21410") -> Any:
    return SimpleNamespace(node_id=NODE, tls_cert_sha256=fingerprint, endpoint=endpoint)


def test_a_new_node_is_registered_and_a_known_one_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = _Contract([])
    _wire(monkeypatch, empty, "aa")
    demo_steps._register(tmp_path / "node.toml", "client-0", print)
    assert empty.calls == [("127.0.0.1:21410", "aa")]
    known = _Contract([_record("aa")])
    _wire(monkeypatch, known, "aa")
    assert demo_steps._register(tmp_path / "node.toml", "client-0", print).node_id == NODE
    assert known.calls == []


@pytest.mark.parametrize("record", [_record("bb"), _record("aa", "127.0.0.1:9")])
def test_a_folder_whose_node_the_chain_knows_otherwise_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, record: Any
) -> None:
    # Peers pin the chain's certificate and dial its endpoint: this node could never serve.
    contract = _Contract([record])
    _wire(monkeypatch, contract, "aa")
    with pytest.raises(FedloraError, match="already registered on this network"):
        demo_steps._register(tmp_path / "node.toml", "client-0", print)
    assert contract.calls == []
