"""Chaincode event streams: blocks, checkpoints, resume without duplicates, reconnects."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from tests.fakes.fake_gateway import FakeGateway
from tests.unit.ledger.conftest import CHANNEL, RecordedSleep

from fedlora.errors import FedloraError
from fedlora.ledger import (
    ChaincodeEventsError,
    Checkpoint,
    FileCheckpointer,
    Gateway,
    InMemoryCheckpointer,
)


def put_keys(gateway: Gateway, fake: FakeGateway, keys: list[str], per_block: int) -> int:
    """Submit one put per key, ``per_block`` transactions to a block; return the first block."""
    fake.tx_per_block = per_block
    first = fake.height
    contract = gateway.network(CHANNEL).contract("kv")
    commits = [contract.submit_async("put", key, "v")[1] for key in keys]
    fake.cut_block()
    assert [commit.status().block_number >= first for commit in commits] == [True] * len(keys)
    return first


def read(stream, count: int) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [
        (event.block_number, event.payload.decode())
        for _, event in zip(range(count), stream, strict=False)
    ]


KEYS = [f"k{index}" for index in range(7)]


def test_events_arrive_in_order_with_their_blocks(gateway: Gateway, fake: FakeGateway) -> None:
    first = put_keys(gateway, fake, KEYS, per_block=3)

    with gateway.network(CHANNEL).chaincode_events("kv", start_block=first) as stream:
        received = read(stream, 7)
    expected_blocks = [first] * 3 + [first + 1] * 3 + [first + 2]
    assert received == list(zip(expected_blocks, KEYS, strict=True))


def test_event_fields_match_the_transaction(gateway: Gateway, fake: FakeGateway) -> None:
    first = fake.height
    _, commit = gateway.network(CHANNEL).contract("kv").submit_async("put", "key", "v")
    with gateway.network(CHANNEL).chaincode_events("kv", start_block=first) as stream:
        event = next(stream)
    assert event.tx_id == commit.tx_id
    assert event.block_number == commit.status().block_number
    assert (event.chaincode_name, event.event_name, event.payload) == ("kv", "Put", b"key")


def test_stop_and_resume_from_a_file_checkpoint_delivers_each_event_once(
    gateway: Gateway, fake: FakeGateway, tmp_path: Path
) -> None:
    first = put_keys(gateway, fake, KEYS, per_block=3)
    network = gateway.network(CHANNEL)
    checkpointer = FileCheckpointer(tmp_path / "events.json")

    seen: list[str] = []
    for stop_at in (2, 5, 7):  # stop inside the first block, inside the second, then at the end
        with network.chaincode_events("kv", checkpointer=checkpointer, start_block=first) as stream:
            for event in stream:
                seen.append(event.payload.decode())
                if len(seen) == stop_at:
                    break

    assert seen == KEYS
    saved = json.loads((tmp_path / "events.json").read_text())
    assert saved["blockNumber"] == first + 2
    assert list(tmp_path.iterdir()) == [tmp_path / "events.json"]  # no temporary files left


def test_an_event_whose_handler_failed_is_delivered_again(
    gateway: Gateway, fake: FakeGateway
) -> None:
    first = put_keys(gateway, fake, KEYS[:3], per_block=3)
    network = gateway.network(CHANNEL)
    checkpointer = InMemoryCheckpointer()

    with (
        pytest.raises(RuntimeError),
        network.chaincode_events("kv", checkpointer=checkpointer, start_block=first) as stream,
    ):
        next(stream)
        next(stream)
        raise RuntimeError("handler failed on the second event")

    with network.chaincode_events("kv", checkpointer=checkpointer, start_block=first) as stream:
        assert [payload for _, payload in read(stream, 2)] == ["k1", "k2"]


def test_explicit_checkpoint_resumes_after_that_transaction(
    gateway: Gateway, fake: FakeGateway
) -> None:
    first = put_keys(gateway, fake, KEYS[:4], per_block=4)
    network = gateway.network(CHANNEL)
    with network.chaincode_events("kv", start_block=first) as stream:
        second = [next(stream), next(stream)][1]

    resume = Checkpoint(second.block_number, second.tx_id)
    with network.chaincode_events("kv", checkpoint=resume) as stream:
        assert [payload for _, payload in read(stream, 2)] == ["k2", "k3"]


def test_stream_reconnects_after_unavailable_without_duplicates(
    gateway: Gateway, fake: FakeGateway, sleeps: RecordedSleep
) -> None:
    first = put_keys(gateway, fake, KEYS[:2], per_block=2)
    with gateway.network(CHANNEL).chaincode_events("kv", start_block=first) as stream:
        before = read(stream, 2)
        fake.drop_streams()  # the peer restarts while the consumer waits for the next block
        put_keys(gateway, fake, KEYS[2:4], per_block=2)
        after = read(stream, 2)

    assert before + after == [(first, "k0"), (first, "k1"), (first + 1, "k2"), (first + 1, "k3")]
    assert len(sleeps.waits) == 1
    assert fake.calls["ChaincodeEvents"] == 2


def test_events_of_invalid_transactions_are_not_delivered(
    gateway: Gateway, fake: FakeGateway
) -> None:
    fake.validation_codes.extend(["VALID", "MVCC_READ_CONFLICT", "VALID"])
    first = put_keys(gateway, fake, ["a", "b", "c"], per_block=3)
    with gateway.network(CHANNEL).chaincode_events("kv", start_block=first) as stream:
        assert [payload for _, payload in read(stream, 2)] == ["a", "c"]


def test_a_refused_stream_raises_a_typed_error(gateway: Gateway, fake: FakeGateway) -> None:
    fake.fail_next("ChaincodeEvents", grpc.StatusCode.PERMISSION_DENIED, "not a channel reader")
    with (
        pytest.raises(ChaincodeEventsError) as caught,
        gateway.network(CHANNEL).chaincode_events("kv", start_block=0) as stream,
    ):
        next(stream)
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "not a channel reader" in str(caught.value)


def test_a_corrupt_checkpoint_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text("{not json")
    with pytest.raises(FedloraError, match="is corrupt -- delete it"):
        FileCheckpointer(path).load()


def test_file_checkpointer_round_trips(tmp_path: Path) -> None:
    checkpointer = FileCheckpointer(tmp_path / "sub" / "cp.json")
    assert checkpointer.load() is None
    checkpointer.save(Checkpoint(12, "tx-a"))
    checkpointer.save(Checkpoint(13, "tx-b"))
    assert FileCheckpointer(tmp_path / "sub" / "cp.json").load() == Checkpoint(13, "tx-b")
