"""Line-level edits of Fabric's sample YAML that keep its comments and indentation.

Fabric's core.yaml and orderer.yaml are long, commented and indented differently between
releases (4 spaces in 2.5, 2 in 3.x). Re-serialising them with a YAML library would drop the
comments and reorder keys, so these helpers locate a key by its path and edit only its lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from fedlora.errors import FedloraError


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: Sequence[str], key_index: int) -> int:
    """Index just past the lines nested under the key at ``key_index``."""
    key_indent = _indent(lines[key_index])
    end = key_index + 1
    for index in range(key_index + 1, len(lines)):
        if _is_content(lines[index]):
            if _indent(lines[index]) <= key_indent:
                break
            end = index + 1
    return end


def _find_child(lines: Sequence[str], start: int, stop: int, key: str) -> int | None:
    """Index of ``key:`` among the direct children of the block ``lines[start:stop]``."""
    child_indent: int | None = None
    for index in range(start, stop):
        line = lines[index]
        if not _is_content(line):
            continue
        if child_indent is None:
            child_indent = _indent(line)
        if _indent(line) == child_indent and line.strip().startswith(f"{key}:"):
            return index
    return None


def find_key(lines: Sequence[str], path: Sequence[str], source: str) -> int:
    """Index of the line holding the mapping key at ``path`` (e.g. ``["vm", "endpoint"]``).

    Raises
    ------
    FedloraError
        When a key of the path is not there; ``source`` names the file in the message.
    """
    start, stop = 0, len(lines)
    found: int | None = None
    for key in path:
        found = _find_child(lines, start, stop, key)
        if found is None:
            raise FedloraError(
                f"{source} has no '{'.'.join(path)}' key",
                "use the core.yaml/orderer.yaml of Fabric 2.5 (re-run scripts/setup_fabric.sh)",
            )
        start, stop = found + 1, _block_end(lines, found)
    assert found is not None
    return found


def set_scalar(text: str, path: Sequence[str], value: str, source: str) -> str:
    """Return ``text`` with the scalar at ``path`` set to ``value`` (empty: a null value).

    The key's indentation is kept, and a value nested under it (if any) is dropped.
    """
    lines = text.splitlines()
    index = find_key(lines, path, source)
    key_text = lines[index][: _indent(lines[index])] + path[-1] + ":"
    end = _block_end(lines, index)
    lines[index:end] = [f"{key_text} {value}" if value else key_text]
    return "\n".join(lines) + "\n"


def replace_block(text: str, path: Sequence[str], body: Sequence[str], source: str) -> str:
    """Return ``text`` with the value of the key at ``path`` replaced by ``body``.

    ``body`` lines are given relative to the key; each is indented three spaces deeper than
    the key, which is how the 2.5 sampleconfig lays out the builder list and is valid at any
    indentation.
    """
    lines = text.splitlines()
    index = find_key(lines, path, source)
    indent = " " * (_indent(lines[index]) + 3)
    end = _block_end(lines, index)
    key_text = lines[index][: _indent(lines[index])] + path[-1] + ":"
    lines[index:end] = [key_text, *(indent + line for line in body)]
    return "\n".join(lines) + "\n"
