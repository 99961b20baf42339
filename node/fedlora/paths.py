"""Where fedlora keeps things outside the checkout: caches keyed by version, network state."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of fedlora's caches (toolchains, converted models); ``$FEDLORA_CACHE`` overrides it."""
    return Path(os.environ.get("FEDLORA_CACHE", Path.home() / ".cache" / "fedlora"))


def default_network_dir() -> Path:
    """Where `fedlora network up` keeps a network unless ``--dir`` says otherwise."""
    return Path(os.environ.get("FEDLORA_NETWORK_DIR", Path.home() / ".fedlora" / "network"))
