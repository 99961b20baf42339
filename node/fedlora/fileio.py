"""Atomic file writes: a reader, or a process restarted after a crash, sees the old file or the
new one, never half of one. Every package that persists state writes through here."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes | str, fsync: bool = False) -> None:
    """Write ``path`` through a temporary file in the same folder and a rename.

    ``fsync`` also flushes the bytes to disk before the rename, for state whose loss after a
    power cut would matter (checkpoints).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented, key-sorted JSON, atomically."""
    write_atomic(path, json.dumps(payload, indent=2, sort_keys=True))
