"""Adapter codec: deterministic bytes, interoperable safetensors, malformed input refused."""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load as reference_load
from safetensors.torch import save as reference_save

from fedlora.artifacts import (
    MalformedAdapterError,
    decode_adapter,
    decode_metadata,
    encode_adapter,
    sha256_hex,
)


def _adapter() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(7)
    return {
        "layers.1.q_proj.lora_B.weight": torch.randn(6, 2, generator=generator),
        "layers.0.q_proj.lora_A.weight": torch.randn(2, 5, generator=generator),
        "half": torch.randn(3, generator=generator).to(torch.float16),
        "brain": torch.randn(2, 2, generator=generator).to(torch.bfloat16),
        "double": torch.randn(4, generator=generator, dtype=torch.float64),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }


def _raw(header: dict[str, object], data: bytes) -> bytes:
    """Hand-build a safetensors-like payload from a header object and a data section."""
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_round_trip_keeps_names_dtypes_shapes_and_values() -> None:
    tensors = _adapter()
    decoded = decode_adapter(encode_adapter(tensors))
    assert sorted(decoded) == sorted(tensors)
    for name, tensor in tensors.items():
        assert decoded[name].dtype == tensor.dtype
        assert decoded[name].shape == tensor.shape
        assert torch.equal(decoded[name], tensor)


def test_same_tensors_in_another_order_give_identical_bytes_and_hash() -> None:
    tensors = _adapter()
    reordered = dict(reversed(list(tensors.items())))
    first = encode_adapter(tensors, {"round": "3", "base": "smollm2"})
    second = encode_adapter(reordered, {"base": "smollm2", "round": "3"})
    assert first == second
    assert sha256_hex(first) == sha256_hex(second)
    assert encode_adapter(tensors) == encode_adapter(_adapter())


def test_a_non_contiguous_view_encodes_like_its_contiguous_copy() -> None:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    assert encode_adapter({"w": base.t()}) == encode_adapter({"w": base.t().contiguous()})


def test_a_changed_value_changes_the_hash() -> None:
    tensors = _adapter()
    before = sha256_hex(encode_adapter(tensors))
    tensors["scalar"] = torch.tensor(2.5000002)
    assert sha256_hex(encode_adapter(tensors)) != before


def test_output_is_standard_safetensors_with_metadata() -> None:
    tensors = _adapter()
    data = encode_adapter(tensors, {"rule": "fedavg"})
    loaded = reference_load(data)
    assert all(torch.equal(loaded[name], tensors[name]) for name in tensors)
    assert decode_metadata(data) == {"rule": "fedavg"}


def test_reads_files_written_by_the_safetensors_library() -> None:
    tensors = {"a": torch.ones(2, 3), "b": torch.zeros(4, dtype=torch.float64)}
    decoded = decode_adapter(reference_save(tensors, metadata={"k": "v"}))
    assert torch.equal(decoded["a"], tensors["a"]) and torch.equal(decoded["b"], tensors["b"])


def test_sha256_hex_matches_the_standard_vector() -> None:
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_encode_refuses_integer_tensors_and_bad_metadata() -> None:
    with pytest.raises(MalformedAdapterError, match="not a floating-point"):
        encode_adapter({"steps": torch.tensor([1, 2])})
    with pytest.raises(MalformedAdapterError, match="metadata"):
        encode_adapter({"w": torch.ones(1)}, {"round": 3})  # type: ignore[dict-item]


def _header_bytes(header: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"", "truncated"),
        (b"\x05\x00\x00", "truncated"),
        (struct.pack("<Q", 1000) + b"{}", "beyond"),
        (struct.pack("<Q", 4) + b"{{{{", "not valid JSON"),
        (struct.pack("<Q", 2) + b"[]", "not an object"),
        (struct.pack("<Q", 2) + b"\xff\xfe", "not valid JSON"),
        (_header_bytes(b"[" * 200_000 + b"]" * 200_000), "RecursionError"),
        (_header_bytes(b'{"w": {"shape": [' + b"9" * 5000 + b"]}}"), "not valid JSON"),
        (struct.pack("<Q", 5 * 2**20) + bytes(5 * 2**20), "exceeds the 4194304-byte limit"),
    ],
)
def test_decode_refuses_broken_headers(payload: bytes, problem: str) -> None:
    with pytest.raises(MalformedAdapterError, match=problem):
        decode_adapter(payload)


@pytest.mark.parametrize(
    ("entry", "data", "problem"),
    [
        ({"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}, bytes(8), "unsupported dtype"),
        ({"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}, bytes(1), "unsupported dtype"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, bytes(4), "out of range"),
        ({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}, bytes(8), "needs 12"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, bytes(4), "invalid shape"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0]}, bytes(4), "data_offsets"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}, bytes(8), "expected 0"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, bytes(8), "cover 4"),
        ("F32", bytes(4), "not an object"),
        ({"dtype": [], "shape": [1], "data_offsets": [0, 4]}, bytes(4), "unsupported dtype"),
        ({"dtype": {}, "shape": [1], "data_offsets": [0, 4]}, bytes(4), "unsupported dtype"),
        ({"dtype": "F32", "shape": [10**40], "data_offsets": [0, 4]}, bytes(4), "needs"),
    ],
)
def test_decode_refuses_bad_tensor_entries(entry: object, data: bytes, problem: str) -> None:
    with pytest.raises(MalformedAdapterError, match=problem):
        decode_adapter(_raw({"w": entry}, data))


def test_decode_refuses_overlapping_tensors() -> None:
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
    }
    with pytest.raises(MalformedAdapterError, match="gap or overlap"):
        decode_adapter(_raw(header, bytes(8)))


def test_decode_refuses_non_string_metadata() -> None:
    header = {
        "__metadata__": {"round": 3},
        "w": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
    }
    with pytest.raises(MalformedAdapterError, match="__metadata__"):
        decode_adapter(_raw(header, bytes(4)))


def test_decode_refuses_oversized_payloads_and_non_bytes() -> None:
    data = encode_adapter({"w": torch.ones(100)})
    with pytest.raises(MalformedAdapterError, match="over the 64-byte limit"):
        decode_adapter(data, max_bytes=64)
    with pytest.raises(MalformedAdapterError, match="not bytes"):
        decode_adapter("not bytes")  # type: ignore[arg-type]


def test_every_truncation_of_a_valid_adapter_is_refused() -> None:
    data = encode_adapter({"a": torch.ones(3), "b": torch.zeros(2, 2, dtype=torch.float16)})
    for length in range(len(data)):
        with pytest.raises(MalformedAdapterError):
            decode_adapter(data[:length])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_another_exception(payload: bytes) -> None:
    with contextlib.suppress(MalformedAdapterError):
        decode_adapter(payload)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=120))
def test_corrupted_valid_adapters_decode_or_fail_cleanly(noise: bytes, position: int) -> None:
    data = bytearray(encode_adapter({"w": torch.ones(4), "v": torch.zeros(2)}))
    position = min(position, len(data) - 1)
    data[position : position + len(noise)] = noise
    try:
        decoded = decode_adapter(bytes(data))
    except MalformedAdapterError:
        return
    assert all(tensor.dtype.is_floating_point for tensor in decoded.values())


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), _json, max_size=4), st.binary(max_size=32))
def test_any_json_header_is_decoded_or_refused_cleanly(
    header: dict[str, object], data: bytes
) -> None:
    # Headers of every shape a peer could send: wrong types in every field, nested values.
    payload = _header_bytes(json.dumps(header).encode()) + data
    with contextlib.suppress(MalformedAdapterError):
        decode_adapter(payload)


@settings(max_examples=200, deadline=None)
@given(_json, _json, _json)
def test_any_values_in_a_tensor_entry_are_refused_cleanly(
    dtype: object, shape: object, offsets: object
) -> None:
    entry = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
    with contextlib.suppress(MalformedAdapterError):
        decode_adapter(_raw({"w": entry}, bytes(8)))
