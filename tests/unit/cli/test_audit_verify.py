"""`fedlora audit verify` checks a file's own bytes first, then its canonical re-encoding."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import grpc
import msgspec
import pytest
import torch
from safetensors.torch import save_file

from fedlora.artifacts import encode_adapter
from fedlora.cli.audit import (
    CANONICAL,
    RAW_BYTES,
    _first_on_chain,
    adapter_hashes,
    lineage_privacy,
)
from fedlora.errors import FedloraError
from fedlora.ledger import AggregateInput, Lineage, Privacy
from fedlora.ledger.errors import EvaluateError

TENSORS = {"b.lora_B.weight": torch.ones(2, 3), "a.lora_A.weight": torch.zeros(3, 2)}


def not_found(sha: str) -> EvaluateError:
    message = f"chaincode response 500, [NOT_FOUND] adapter {sha} is not on the ledger"
    return EvaluateError("AdapterLineage", grpc.StatusCode.UNKNOWN, message)


class Chain:
    """Knows one adapter hash."""

    def __init__(self, known: str) -> None:
        self.known = known
        self.asked: list[str] = []

    def adapter_lineage(self, sha: str) -> Lineage:
        self.asked.append(sha)
        if sha != self.known:
            raise not_found(sha)
        return Lineage(endorsements={}, final=True, inputs=(), kind="aggregate", producer="p",
                       round=2, session_id="s1", sha256=sha, weights={})  # fmt: skip


def test_a_canonical_file_matches_by_its_raw_bytes(tmp_path: Path) -> None:
    artifact = encode_adapter(TENSORS)
    (tmp_path / "adapter_model.safetensors").write_bytes(artifact)
    sha = hashlib.sha256(artifact).hexdigest()
    assert adapter_hashes(tmp_path) == [(RAW_BYTES, sha)]  # sha256sum's answer, nothing else
    assert _first_on_chain(Chain(sha), adapter_hashes(tmp_path))[:2] == (RAW_BYTES, sha)


def test_a_re_encoded_copy_matches_by_its_canonical_encoding(tmp_path: Path) -> None:
    path = tmp_path / "copy.safetensors"
    save_file(TENSORS, str(path), metadata={"format": "pt"})  # another tool's bytes
    canonical = hashlib.sha256(encode_adapter(TENSORS)).hexdigest()
    candidates = adapter_hashes(path)
    assert [check for check, _ in candidates] == [RAW_BYTES, CANONICAL]
    chain = Chain(canonical)
    check, sha, lineage = _first_on_chain(chain, candidates)
    assert (check, sha, lineage.round) == (CANONICAL, canonical, 2)
    assert chain.asked == [candidates[0][1], canonical]


def test_an_unknown_adapter_reports_the_chains_answer(tmp_path: Path) -> None:
    path = tmp_path / "copy.safetensors"
    save_file(TENSORS, str(path))
    with pytest.raises(FedloraError, match="NOT_FOUND"):
        _first_on_chain(Chain("0" * 64), adapter_hashes(path))


class PrivateChain(Chain):
    """A session with a DP budget whose round 2 holds two updates."""

    def __init__(self, known: str, privacy: Privacy | None) -> None:
        super().__init__(known)
        self.privacy = privacy

    def get_session(self, session_id: str) -> SimpleNamespace:
        return SimpleNamespace(privacy=self.privacy)

    def get_round(self, session_id: str, number: int) -> SimpleNamespace:
        spent = {"n1": 1.25, "n2": 2.5}
        updates = {node: SimpleNamespace(epsilon_spent=e) for node, e in spent.items()}
        return SimpleNamespace(updates=updates)


def test_verify_reports_the_epsilon_spent_behind_an_update_and_an_aggregate() -> None:
    budget = Privacy(epsilon=3.0, delta=1e-5, noise_multiplier=1.1, clip_norm=1.0)
    chain = PrivateChain("ab" * 32, budget)
    inputs = (AggregateInput("n1", "cd" * 32), AggregateInput("n2", "ef" * 32))
    aggregate = msgspec.structs.replace(chain.adapter_lineage("ab" * 32), inputs=inputs)
    assert lineage_privacy(chain, aggregate) == {
        "epsilon_budget": 3.0, "delta": 1e-5, "epsilon_spent": {"n1": 1.25, "n2": 2.5}
    }  # fmt: skip
    update = msgspec.structs.replace(aggregate, kind="update", producer="n2", inputs=())
    assert lineage_privacy(chain, update)["epsilon_spent"] == {"n2": 2.5}  # type: ignore[index]
    assert lineage_privacy(PrivateChain("ab" * 32, None), update) is None
