"""Where fedlora keeps things outside the checkout (caches keyed by version, network state), and
the checkout it runs from, if any."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of fedlora's caches (toolchains, converted models); ``$FEDLORA_CACHE`` overrides it."""
    return Path(os.environ.get("FEDLORA_CACHE", Path.home() / ".cache" / "fedlora"))


def default_network_dir() -> Path:
    """Where `fedlora network up` keeps a network unless ``--dir`` says otherwise."""
    return Path(os.environ.get("FEDLORA_NETWORK_DIR", Path.home() / ".fedlora" / "network"))


def source_checkout() -> Path | None:
    """The source checkout this fedlora runs from (an editable install), None for a wheel.

    The checkout holds what the Python package does not ship: the Go chaincode and its build.
    """
    root = Path(__file__).resolve().parents[2]
    is_checkout = (root / "pyproject.toml").is_file() and (root / "chaincode").is_dir()
    return root if is_checkout else None
