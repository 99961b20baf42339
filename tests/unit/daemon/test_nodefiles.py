"""`fedlora node init`'s folder: a loadable node.toml, identity, and the members' TLS CAs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.support.pki import make_org

from fedlora.config import load_node_config
from fedlora.daemon.nodefiles import NodeInitRequest, init_node_folder, request_for_org
from fedlora.errors import FedloraError


def request_for(tmp_path: Path) -> NodeInitRequest:
    org1, org2 = make_org(tmp_path, "org1.example.com"), make_org(tmp_path, "org2.example.com")
    peer_ca = tmp_path / "peer-ca.pem"
    peer_ca.write_bytes((org1 / "tlsca" / "tlsca.org1.example.com-cert.pem").read_bytes())
    return NodeInitRequest(
        name="node1",
        msp_id="Org1MSP",
        org_dir=org1,
        member_org_dirs=(org1, org2),
        gateway="127.0.0.1:7051",
        gateway_tls_ca=peer_ca,
        channel="fedlora",
        listen="127.0.0.1:7451",
        endpoint="127.0.0.1:7451",
        model="tiny",
        site="site-1",
    )


def test_node_folder_loads_and_trusts_every_member(tmp_path: Path) -> None:
    out = tmp_path / "node1"
    issued = init_node_folder(request_for(tmp_path), out)
    config = load_node_config(out / "node.toml")
    assert config.identity.msp_id == "Org1MSP"
    assert config.identity.msp_dir == issued.msp_dir.resolve()
    assert config.exchange.endpoint == "127.0.0.1:7451"
    assert config.training.site == "site-1"
    assert config.fabric.member_cas_dir is not None
    trusted = sorted(p.name for p in config.fabric.member_cas_dir.iterdir())
    assert trusted == ["tlsca.org1.example.com-cert.pem", "tlsca.org2.example.com-cert.pem"]
    assert config.fabric.gateway_tls_ca.is_file()


def test_an_existing_node_folder_is_refused(tmp_path: Path) -> None:
    request = request_for(tmp_path)
    init_node_folder(request, tmp_path / "node1")
    before = (tmp_path / "node1" / "node.toml").read_text()
    with pytest.raises(FedloraError, match="already exists"):
        init_node_folder(request, tmp_path / "node1")
    assert (tmp_path / "node1" / "node.toml").read_text() == before


@pytest.mark.parametrize("name", ["../../x", "node1\nsite = 'other'", "", "a" * 64, "-x"])
def test_a_node_name_that_could_escape_its_folder_or_the_file_is_refused(name: str) -> None:
    with pytest.raises(FedloraError, match=r"node name .* is not allowed"):
        request_for_org(None, None, 1, name)  # type: ignore[arg-type]  # refused before use


def test_a_value_with_quotes_and_newlines_stays_one_value(tmp_path: Path) -> None:
    site = 'site-1"\nseed = 9\n[identity]\nmsp_id = "Org2MSP'
    request = dataclasses.replace(request_for(tmp_path), site=site)
    init_node_folder(request, tmp_path / "n")
    config = load_node_config(tmp_path / "n" / "node.toml")
    assert config.training.site == site and config.training.seed == 0
    assert config.identity.msp_id == "Org1MSP"
