"""The transfer benchmark runs both paths and reports consistent numbers."""

from __future__ import annotations

import pytest

from fedlora.transport.bench import measure_transfer


def test_measure_transfer_times_all_three_paths_over_the_same_bytes() -> None:
    size, chunk = 300_000, 64 * 1024
    measured = measure_transfer(size, chunk_size=chunk, repeats=1)

    assert (measured.size_bytes, measured.chunk_size, measured.repeats) == (size, chunk, 1)
    assert min(measured.mtls_seconds, measured.tls_stream_seconds, measured.raw_seconds) > 0
    assert measured.tls_stream_mib_per_s == pytest.approx(
        size / 2**20 / measured.tls_stream_seconds
    )
    assert measured.mtls_mib_per_s == pytest.approx(size / 2**20 / measured.mtls_seconds)
    assert measured.raw_mib_per_s == pytest.approx(size / 2**20 / measured.raw_seconds)
    # one fetch moves the payload once, plus the hash twice (request and first chunk) and a
    # few bytes of field tags and varints per chunk
    chunks = -(-size // chunk)
    hash_field = 2 + 64
    assert size + 2 * hash_field < measured.mtls_wire_bytes < size + 2 * hash_field + 16 * chunks
    assert measured.mtls_overhead == pytest.approx(measured.mtls_seconds / measured.raw_seconds)


def test_measure_transfer_refuses_an_empty_size() -> None:
    with pytest.raises(ValueError):
        measure_transfer(0)
