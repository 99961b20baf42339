"""node.toml loading: valid files load with paths resolved; each kind of mistake is named."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from fedlora.config import _section, load_node_config
from fedlora.errors import FedloraError

VALID = """
[node]
name = "org1-node"
data_dir = "state"

[identity]
msp_id = "Org1MSP"
msp_dir = "msp"
tls_dir = "tls"

[fabric]
gateway = "127.0.0.1:7051"
gateway_tls_ca = "peer-ca.pem"

[exchange]
listen = "127.0.0.1:7451"
endpoint = "127.0.0.1:7451"

[training]
model = "tiny"
steps = 3
lr = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_valid_file_loads_with_paths_resolved_against_its_folder(tmp_path: Path) -> None:
    config = load_node_config(write(tmp_path, VALID))
    assert config.name == "org1-node"
    assert config.data_dir == (tmp_path / "state").resolve()
    assert config.identity.msp_dir == (tmp_path / "msp").resolve()
    assert config.fabric.channel == "fedlora"  # default kept
    assert config.training.steps == 3
    assert config.training.lr == 1.0 and isinstance(config.training.lr, float)


def test_missing_file_names_the_command_that_creates_it(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="fedlora node init"):
        load_node_config(tmp_path / "absent.toml")


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="not valid TOML"):
        load_node_config(write(tmp_path, "[node\nname="))


def test_missing_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match=r"no \[exchange\] table"):
        load_node_config(write(tmp_path, VALID.split("[exchange]")[0]))


def test_unknown_key_is_named_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="unknown key `stepz`"):
        load_node_config(write(tmp_path, VALID + "stepz = 4\n"))


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="`steps` must be of type int"):
        load_node_config(write(tmp_path, VALID.replace("steps = 3", 'steps = "three"')))


def test_a_bool_is_not_taken_for_an_int(tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="`steps` must be of type int, got True"):
        load_node_config(write(tmp_path, VALID.replace("steps = 3", "steps = true")))


@dataclass(frozen=True)
class Switches:
    enabled: bool = False
    limit: float = 1.0
    folder: Path | None = None


def test_each_value_is_converted_to_its_fields_declared_type(tmp_path: Path) -> None:
    source = tmp_path / "node.toml"
    table = {"enabled": True, "limit": 2, "folder": "sub"}
    loaded = _section(Switches, table, tmp_path, source)
    assert loaded == Switches(enabled=True, limit=2.0, folder=(tmp_path / "sub").resolve())
    with pytest.raises(FedloraError, match="`enabled` must be of type bool, got 1"):
        _section(Switches, {"enabled": 1}, tmp_path, source)


def test_bad_address_is_named(tmp_path: Path) -> None:
    text = VALID.replace('listen = "127.0.0.1:7451"', 'listen = "localhost"')
    with pytest.raises(FedloraError, match=r"exchange\.listen"):
        load_node_config(write(text=text, tmp_path=tmp_path))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("lr = 1\n", "lr = nan\n"),
        ("steps = 3\n", "steps = 0\n"),
        ("steps = 3\n", "steps = 3\nbatch_size = -3\n"),
    ],
)
def test_training_values_no_run_could_use_are_named(
    tmp_path: Path, change: str, problem: str
) -> None:
    field = problem.strip().splitlines()[-1].split(" =")[0]
    with pytest.raises(FedloraError, match=rf"training\.{field} ="):
        load_node_config(write(tmp_path, VALID.replace(change, problem)))


def test_a_training_key_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    text = "training = 5\n" + VALID.split("[training]")[0]
    with pytest.raises(FedloraError, match=r"no \[training\] table"):
        load_node_config(write(tmp_path, text))


def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, VALID)

    def denied(self: Path, encoding: str | None = None) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)  # root could read a chmod 000 file
    with pytest.raises(FedloraError, match="cannot be read: Permission denied"):
        load_node_config(path)
