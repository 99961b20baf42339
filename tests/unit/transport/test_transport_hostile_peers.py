"""A client facing a peer that lies: every malformed stream is refused, nothing is returned."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora.transport import ArtifactIntegrityError, ArtifactTooLargeError, TlsMaterial

MiB = 1024 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunks(data: bytes, size: int, announced_sha: str) -> list[pb.ArtifactChunk]:
    chunks = [
        pb.ArtifactChunk(data=data[i : i + size], offset=i, total_size=len(data))
        for i in range(0, len(data), size)
    ]
    chunks[0].sha256 = announced_sha
    return chunks


def _fetch(
    scripted_server: Any,
    make_client: Any,
    tls: TlsMaterial,
    chunks: list[Any],
    sha: str,
    max_bytes: int = MiB,
) -> bytes:
    port, _ = scripted_server(chunks)
    result: bytes = make_client(port, tls).fetch(sha, max_bytes=max_bytes)
    return result


def test_honest_script_is_accepted(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    # the scripted peer itself is sound: the refusals below come from what each test changes
    data = os.urandom(3000)
    sha = _sha(data)
    assert _fetch(scripted_server, make_client, client_tls, _chunks(data, 1000, sha), sha) == data


def test_server_sending_other_bytes_under_the_requested_hash_is_caught(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    wanted, sent = os.urandom(3000), os.urandom(3000)
    chunks = _chunks(sent, 1000, announced_sha=_sha(wanted))
    with pytest.raises(ArtifactIntegrityError, match="hash to"):
        _fetch(scripted_server, make_client, client_tls, chunks, _sha(wanted))


def test_server_announcing_another_hash_is_caught(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    wanted, sent = os.urandom(100), os.urandom(100)
    chunks = _chunks(sent, 50, announced_sha=_sha(sent))
    with pytest.raises(ArtifactIntegrityError, match="first chunk announces"):
        _fetch(scripted_server, make_client, client_tls, chunks, _sha(wanted))


def test_truncated_stream_is_refused(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    data = os.urandom(3000)
    chunks = _chunks(data, 1000, _sha(data))[:-1]
    with pytest.raises(ArtifactIntegrityError, match="truncated at 2000 of 3000"):
        _fetch(scripted_server, make_client, client_tls, chunks, _sha(data))


def test_empty_stream_is_refused(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    with pytest.raises(ArtifactIntegrityError, match="before the first chunk"):
        _fetch(scripted_server, make_client, client_tls, [], _sha(b"anything"))


def test_out_of_order_chunks_are_refused(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    data = os.urandom(3000)
    chunks = _chunks(data, 1000, _sha(data))
    chunks[1], chunks[2] = chunks[2], chunks[1]
    with pytest.raises(ArtifactIntegrityError, match="offset 2000, expected 1000"):
        _fetch(scripted_server, make_client, client_tls, chunks, _sha(data))


def test_more_bytes_than_announced_are_refused(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    data = os.urandom(3000)
    chunks = _chunks(data, 1000, _sha(data))
    chunks.append(pb.ArtifactChunk(data=b"extra", offset=3000, total_size=3000))
    with pytest.raises(ArtifactIntegrityError, match="more than the announced 3000"):
        _fetch(scripted_server, make_client, client_tls, chunks, _sha(data))


def test_oversized_stream_is_refused_before_it_is_read(
    scripted_server: Any, make_client: Any, client_tls: TlsMaterial
) -> None:
    piece = os.urandom(64 * 1024)
    chunk_count = 160  # 10 MiB announced and offered
    chunks = [
        pb.ArtifactChunk(data=piece, offset=i * len(piece), total_size=chunk_count * len(piece))
        for i in range(chunk_count)
    ]
    chunks[0].sha256 = _sha(b"the artifact the client wanted")
    port, servicer = scripted_server(chunks)
    client = make_client(port, client_tls)

    with pytest.raises(ArtifactTooLargeError):
        client.fetch(_sha(b"the artifact the client wanted"), max_bytes=MiB)

    assert servicer.finished.wait(timeout=5)
    assert servicer.yielded < chunk_count  # the stream was cancelled, not drained
    assert client.traffic.snapshot()[client.endpoint].bytes_received < 2 * MiB
