"""Chaincode event streams that resume from a checkpoint without duplicates, and checkpointers.

The Gateway's ChaincodeEvents is a server stream of one response per block holding the events
of that block's valid transactions. A checkpoint is ``(block_number, tx_id)`` of the last event
processed; resuming asks for ``specified(block)`` plus ``after_transaction_id=tx_id``, which
skips the events of that block up to and including that transaction. A block-only checkpoint
would deliver the earlier events of the block again.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import grpc

from fedlora.backoff import Backoff, retry
from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic
from fedlora.ledger.errors import ChaincodeEventsError


@dataclass(frozen=True)
class Checkpoint:
    """The last processed event: its block and its transaction id."""

    block_number: int
    tx_id: str


@dataclass(frozen=True)
class ChaincodeEvent:
    """One chaincode event of a committed, valid transaction."""

    block_number: int
    tx_id: str
    chaincode_name: str
    event_name: str
    payload: bytes


class Checkpointer(Protocol):
    """Keeps the position of an event consumer."""

    def load(self) -> Checkpoint | None:
        """The saved checkpoint, or ``None`` when nothing was processed yet."""
        ...

    def save(self, checkpoint: Checkpoint) -> None:
        """Record that the event at ``checkpoint`` was processed."""
        ...


class InMemoryCheckpointer:
    """A checkpointer that lives as long as the process (tests, short-lived consumers)."""

    def __init__(self, checkpoint: Checkpoint | None = None) -> None:
        self._checkpoint = checkpoint

    def load(self) -> Checkpoint | None:
        """The last saved checkpoint."""
        return self._checkpoint

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace the checkpoint."""
        self._checkpoint = checkpoint


class FileCheckpointer:
    """A checkpoint kept in a small JSON file, replaced atomically on every save."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> Checkpoint | None:
        """Read the file; ``None`` when it does not exist yet."""
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Checkpoint(int(data["blockNumber"]), str(data["transactionId"]))
        except (ValueError, KeyError, TypeError):
            raise FedloraError(
                f"event checkpoint {self.path} is corrupt",
                "delete it to replay events from the start block",
            ) from None

    def save(self, checkpoint: Checkpoint) -> None:
        """Write to a temporary file in the same folder, fsync, then rename over the old one."""
        text = json.dumps(
            {"blockNumber": checkpoint.block_number, "transactionId": checkpoint.tx_id}
        )
        write_atomic(self.path, text, fsync=True)


# Opens one ChaincodeEvents call from (resume checkpoint, start block); returns the gRPC call.
OpenEventsCall = Callable[[Checkpoint | None, int | None], Any]


class ChaincodeEventStream:
    """An iterator over chaincode events that checkpoints, reconnects and can be closed.

    An event counts as processed (and is checkpointed) when the consumer asks for the next
    one, or when the stream is closed normally; leaving a ``with`` block through an exception
    does not checkpoint the event being handled, so it is delivered again after a restart.
    On UNAVAILABLE the stream reconnects from the last delivered event with backoff.
    """

    def __init__(
        self,
        open_call: OpenEventsCall,
        *,
        chaincode: str,
        checkpointer: Checkpointer | None = None,
        start: Checkpoint | None = None,
        start_block: int | None = None,
        retry: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._open_call = open_call
        self._chaincode = chaincode
        self._checkpointer = checkpointer
        self._position = (checkpointer.load() if checkpointer else None) or start
        self._start_block = start_block
        self._retry = retry or Backoff()
        self._sleep = sleep
        self._call: Any = open_call(self._position, start_block)
        self._buffer: deque[ChaincodeEvent] = deque()
        self._unacknowledged: ChaincodeEvent | None = None
        self._closed = False

    def __iter__(self) -> Iterator[ChaincodeEvent]:
        return self

    def __enter__(self) -> ChaincodeEventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(processed=exc_type is None)

    def __next__(self) -> ChaincodeEvent:
        self._acknowledge()
        while not self._buffer:
            if self._closed or not self._receive_block():
                raise StopIteration
        event = self._buffer.popleft()
        self._position = Checkpoint(event.block_number, event.tx_id)
        self._unacknowledged = event
        return event

    def close(self, processed: bool = True) -> None:
        """Stop the stream; checkpoint the last delivered event if ``processed``."""
        if processed:
            self._acknowledge()
        self._unacknowledged = None
        self._closed = True
        if self._call is not None:
            self._call.cancel()

    def _acknowledge(self) -> None:
        if self._unacknowledged is not None and self._checkpointer is not None:
            event = self._unacknowledged
            self._checkpointer.save(Checkpoint(event.block_number, event.tx_id))
        self._unacknowledged = None

    def _receive_block(self) -> bool:
        """Fill the buffer from the next block; False when the stream has ended or was closed."""
        try:
            response = retry(
                self._next_response,
                self._retry,
                self._reconnectable,
                sleep=self._sleep,
                what=f"event stream of {self._chaincode}",
            )
        except grpc.RpcError as error:
            if self._closed:
                return False
            failure = ChaincodeEventsError.from_rpc_error(f"events of {self._chaincode}", error)
            raise failure from None
        if response is None:
            return False
        self._buffer.extend(self._events_of(response))
        return True

    def _next_response(self) -> Any:
        """The next block's response, reconnecting first if the call was lost; None at the end
        of the stream or once it is closed."""
        if self._closed:
            return None
        if self._call is None:
            self._call = self._open_call(self._position, self._start_block)
        try:
            return next(self._call)
        except StopIteration:
            return None
        except grpc.RpcError:
            self._call = None  # the next try reconnects from the last delivered event
            raise

    def _reconnectable(self, error: Exception) -> bool:
        return (
            not self._closed
            and isinstance(error, grpc.RpcError)
            and error.code() == grpc.StatusCode.UNAVAILABLE
        )

    def _events_of(self, response: Any) -> list[ChaincodeEvent]:
        block = int(response.block_number)
        return [
            ChaincodeEvent(
                block_number=block,
                tx_id=str(event.tx_id),
                chaincode_name=str(event.chaincode_id),
                event_name=str(event.event_name),
                payload=bytes(event.payload),
            )
            for event in response.events
        ]
