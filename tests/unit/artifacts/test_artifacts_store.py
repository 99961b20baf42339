"""Content-addressed store: hash-named files, atomic writes, verified reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fedlora.artifacts import (
    ArtifactHashMismatchError,
    ArtifactNotFoundError,
    ContentStore,
)
from fedlora.errors import FedloraError


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_put_returns_the_sha256_and_get_returns_the_bytes(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    data = b"adapter bytes"
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.has(digest)
    assert store.get(digest) == data
    assert store.path(digest).read_bytes() == data
    assert store.path(digest).is_relative_to(tmp_path / "store")


def test_putting_the_same_bytes_twice_keeps_one_file(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    assert store.put(b"x") == store.put(b"x")
    assert len(_files(tmp_path)) == 1


def test_put_verified_refuses_bytes_with_another_hash_and_writes_nothing(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    expected = hashlib.sha256(b"original").hexdigest()
    with pytest.raises(ArtifactHashMismatchError, match="expected"):
        store.put_verified(b"substituted", expected)
    assert not store.has(expected)
    assert _files(tmp_path) == []
    assert store.put_verified(b"original", expected) == expected


def test_get_of_an_unknown_hash_says_it_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFoundError, match="not in the store"):
        ContentStore(tmp_path).get("a" * 64)
    assert not ContentStore(tmp_path).has("a" * 64)


def test_get_detects_a_file_corrupted_on_disk(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    digest = store.put(b"good")
    store.path(digest).write_bytes(b"bad!")
    with pytest.raises(ArtifactHashMismatchError, match="does not match"):
        store.get(digest)


@pytest.mark.parametrize("name", ["", "abc", "A" * 64, "../" + "a" * 61, "g" * 64])
def test_malformed_hashes_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(FedloraError, match="not a SHA-256"):
        ContentStore(tmp_path).path(name)


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ContentStore(tmp_path)

    def refuse(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"payload")
    monkeypatch.undo()
    assert _files(tmp_path) == []
    assert not store.has(hashlib.sha256(b"payload").hexdigest())
