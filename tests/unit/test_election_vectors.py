"""Check the shared aggregator-election vectors against the round-robin rule.

The chaincode's Go test reads the same file, so the on-chain rule and every
Python implementation of it are held to one table.
"""

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "election.json"


def elect(participants: list[str], round_number: int, attempt: int) -> str:
    """Return participants[(round + attempt) mod n] over the sorted list.

    Parameters
    ----------
    participants : list of str
        Node ids in any order.
    round_number : int
        Round, counting from 1.
    attempt : int
        Failover attempt, counting from 0.

    Returns
    -------
    str
        The elected aggregator's node id.
    """
    ordered = sorted(participants)
    return ordered[(round_number + attempt) % len(ordered)]


def load_vectors() -> list[dict[str, Any]]:
    """Read the vector table."""
    vectors: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return vectors


def test_table_covers_one_to_five_participants_and_failover() -> None:
    vectors = load_vectors()
    assert len(vectors) >= 12
    assert {len(v["participants"]) for v in vectors} >= {1, 2, 3, 4, 5}
    assert any(v["attempt"] > 0 for v in vectors)
    assert any(v["participants"] != sorted(v["participants"]) for v in vectors)


def vector_id(vector: dict[str, Any]) -> str:
    """Name a vector by its size, round and attempt."""
    return f"n{len(vector['participants'])}-r{vector['round']}-a{vector['attempt']}"


@pytest.mark.parametrize("vector", load_vectors(), ids=vector_id)
def test_vector_matches_round_robin_rule(vector: dict[str, Any]) -> None:
    assert vector["aggregator"] in vector["participants"]
    assert elect(vector["participants"], vector["round"], vector["attempt"]) == vector["aggregator"]
