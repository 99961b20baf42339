"""A node's configuration: frozen dataclasses loaded from `node.toml`, validated on load.

Every path in the file may be relative; it is resolved against the file's own folder, so a node
folder can be moved as a whole.
"""

from __future__ import annotations

import math
import re
import tomllib
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fedlora.errors import FedloraError

_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$")


@dataclass(frozen=True)
class IdentityConfig:
    """Who the node is on the channel and on the wire."""

    msp_id: str
    msp_dir: Path  # signcerts/, keystore/, cacerts/ of the node's enrolment certificate
    tls_dir: Path  # client.crt, client.key, ca.crt: the node's TLS identity for mutual TLS


@dataclass(frozen=True)
class FabricConfig:
    """How to reach the consortium chaincode through the org's peer Gateway."""

    gateway: str
    gateway_tls_ca: Path
    channel: str = "fedlora"
    chaincode: str = "fedlora"
    member_cas_dir: Path | None = None  # folder of channel member TLS CA certs trusted for mTLS


@dataclass(frozen=True)
class ExchangeConfig:
    """The node's own AdapterExchange server."""

    listen: str
    endpoint: str  # what peers dial; recorded on chain by `fedlora node join`
    max_artifact_bytes: int = 256 * 1024 * 1024


@dataclass(frozen=True)
class TrainingConfig:
    """Local training: which model, which data, how long."""

    model: str = "smollm2"
    dataset: str = "icd10"  # "icd10" or a CSV/JSONL path
    text_column: str = "text"
    label_column: str = "label"
    site: str = ""  # with the built-in demo partition: which site's shard this node holds
    steps: int = 20
    batch_size: int = 8
    lr: float = 5e-4
    seed: int = 0
    # After a completed session: steps of fine-tuning the final global adapter on this node's
    # own data into a personal adapter that never leaves the site (0: none).
    personalize_steps: int = 0

    def __post_init__(self) -> None:
        for name, value in (("steps", self.steps), ("batch_size", self.batch_size)):
            if value < 1:
                raise FedloraError(f"training.{name} = {value} must be at least 1", "fix it")
        if self.personalize_steps < 0:
            raise FedloraError(
                f"training.personalize_steps = {self.personalize_steps} must be >= 0", "fix it"
            )
        if not math.isfinite(self.lr) or not 0 < self.lr <= 10:
            raise FedloraError(f"training.lr = {self.lr} must be in (0, 10]", "e.g. 2e-3")


@dataclass(frozen=True)
class NodeConfig:
    """Everything `fedlora node start` needs."""

    name: str
    data_dir: Path
    identity: IdentityConfig
    fabric: FabricConfig
    exchange: ExchangeConfig
    training: TrainingConfig = field(default_factory=TrainingConfig)
    source: Path | None = None


def load_node_config(path: Path) -> NodeConfig:
    """Read and validate a node.toml; raise FedloraError naming the first problem found."""
    if not path.is_file():
        raise FedloraError(
            f"node config {path} does not exist", "create it with `fedlora node init`"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FedloraError(
            f"node config {path} cannot be read: {error.strerror}", "check its permissions"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FedloraError(
            f"node config {path} is not valid TOML: {error}", "fix the file"
        ) from None
    base = path.resolve().parent
    node = _table(raw, "node", path)
    config = NodeConfig(
        name=_str(node, "name", path),
        data_dir=_path(node, "data_dir", base, path),
        identity=_section(IdentityConfig, _table(raw, "identity", path), base, path),
        fabric=_section(FabricConfig, _table(raw, "fabric", path), base, path),
        exchange=_section(ExchangeConfig, _table(raw, "exchange", path), base, path),
        training=_section(TrainingConfig, _table(raw, "training", path, optional=True), base, path),
        source=path.resolve(),
    )
    _check_addresses(config, path)
    return config


def _table(raw: dict[str, Any], name: str, path: Path, optional: bool = False) -> dict[str, Any]:
    value = raw.get(name, {} if optional else None)
    if not isinstance(value, dict):
        raise FedloraError(f"node config {path} has no [{name}] table", "see `fedlora node init`")
    return value


def _str(table: dict[str, Any], key: str, path: Path) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise FedloraError(
            f"node config {path}: `{key}` must be a non-empty string", "fix the file"
        )
    return value


def _path(table: dict[str, Any], key: str, base: Path, path: Path) -> Path:
    return (base / Path(_str(table, key, path)).expanduser()).resolve()


def _section(kind: type[Any], table: dict[str, Any], base: Path, path: Path) -> Any:
    """Build one section dataclass, converting each value to its field's declared type."""
    types = typing.get_type_hints(kind)
    known = sorted(f.name for f in fields(kind))
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise FedloraError(
            f"node config {path}: unknown key `{unknown[0]}` in [{kind.__name__}]",
            f"known keys: {', '.join(known)}",
        )
    values = {
        name: _convert(table, name, types[name], base, path) for name in known if name in table
    }
    try:
        return kind(**values)
    except TypeError as error:
        raise FedloraError(f"node config {path}: {error}", "add the missing key") from None
    except FedloraError as error:
        raise FedloraError(f"node config {path}: {error.what}", error.hint) from None


def _convert(table: dict[str, Any], key: str, declared: Any, base: Path, path: Path) -> Any:
    """``table[key]`` as the ``declared`` type: a scalar type, Path, or either ``| None``."""
    (kind,) = [k for k in typing.get_args(declared) or (declared,) if k is not type(None)]
    if kind is Path:
        return _path(table, key, base, path)
    value = table[key]
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:  # not isinstance: a bool is no int, nor an int a bool
        raise FedloraError(
            f"node config {path}: `{key}` must be of type {kind.__name__}, got {value!r}",
            "fix the file",
        )
    return value


def _check_addresses(config: NodeConfig, path: Path) -> None:
    for label, value in [
        ("fabric.gateway", config.fabric.gateway),
        ("exchange.listen", config.exchange.listen),
        ("exchange.endpoint", config.exchange.endpoint),
    ]:
        if not _HOST_PORT.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
            raise FedloraError(
                f"node config {path}: `{label}` = {value!r} is not host:port",
                "use e.g. 127.0.0.1:7451",
            )
