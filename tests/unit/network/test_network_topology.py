"""Port planning and topology: ranges, uniqueness, collisions with ports in use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fedlora.errors import FedloraError
from fedlora.network.topology import (
    HIGHEST_BASE_PORT,
    PORT_SPAN,
    NetworkDefaults,
    busy_ports,
    check_ports_free,
    load_defaults,
    plan_from_dict,
    plan_network,
    port_is_free,
)

DEFAULTS = NetworkDefaults()


def test_three_org_plan_names_members_and_gives_each_peer_its_own_ports() -> None:
    plan = plan_network(3, 27050, "fedlora", DEFAULTS)

    assert [org.msp_id for org in plan.orgs] == ["Org1MSP", "Org2MSP", "Org3MSP"]
    assert plan.orderer.msp_id == "OrdererMSP"
    assert plan.orderer.port == 27050
    assert plan.orgs[1].peer_address == "127.0.0.1:27070"
    assert plan.orgs[1].peer_host == "peer0.org2.fedlora.local"
    assert len(set(plan.ports().values())) == len(plan.ports()) == 3 + 3 * 4


@pytest.mark.parametrize("orgs", range(1, 10))
@pytest.mark.parametrize("base", [1024, 27050, HIGHEST_BASE_PORT])
def test_every_port_is_unique_and_inside_the_block(orgs: int, base: int) -> None:
    ports = list(plan_network(orgs, base, "fedlora", DEFAULTS).ports().values())

    assert len(ports) == len(set(ports))
    assert all(base <= port < base + PORT_SPAN for port in ports)
    assert max(ports) <= 65535


@pytest.mark.parametrize("orgs", [0, -1, 10, 100])
def test_org_count_outside_one_to_nine_is_refused(orgs: int) -> None:
    with pytest.raises(FedloraError, match=r"invalid org count .* between 1 and 9"):
        plan_network(orgs, 27050, "fedlora", DEFAULTS)


@pytest.mark.parametrize("base", [0, 80, 1023, HIGHEST_BASE_PORT + 1, 65535])
def test_base_port_whose_block_does_not_fit_is_refused(base: int) -> None:
    with pytest.raises(FedloraError, match="--base-port must be between"):
        plan_network(3, base, "fedlora", DEFAULTS)


@pytest.mark.parametrize("channel", ["", "Fedlora", "1chan", "chan_nel", "a b", "x" * 250])
def test_invalid_channel_names_are_refused(channel: str) -> None:
    with pytest.raises(FedloraError, match="channel name"):
        plan_network(3, 27050, channel, DEFAULTS)


def test_busy_ports_reports_exactly_the_ports_held_by_someone_else() -> None:
    plan = plan_network(2, 27050, "fedlora", DEFAULTS)
    held = {27051, 27071}

    busy = busy_ports(plan, is_free=lambda port, _ip: port not in held)

    assert sorted(port for _, port in busy) == [27051, 27071]
    assert dict(busy)["orderer admin"] == 27051
    with pytest.raises(FedloraError, match=r"port in use: 27051 \(orderer admin\)"):
        check_ports_free(plan, is_free=lambda port, _ip: port not in held)


def test_check_ports_free_passes_when_nothing_is_held() -> None:
    plan = plan_network(2, 27050, "fedlora", DEFAULTS)

    check_ports_free(plan, is_free=lambda _port, _ip: True)


def test_port_is_free_sees_a_real_listener_and_its_release() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    assert not port_is_free(port)
    listener.close()
    assert port_is_free(port)


def test_plan_survives_a_round_trip_through_its_dict_form() -> None:
    plan = plan_network(4, 31000, "audit-chan", DEFAULTS)

    assert plan_from_dict(plan.to_dict()) == plan


def test_defaults_file_values_are_used(tmp_path: Path) -> None:
    source = tmp_path / "defaults.toml"
    source.write_text(
        '[network]\norgs = 5\nchannel = "hospitals"\nbase_port = 40000\ndomain = "x.test"\n'
        '[chaincode]\nname = "cc"\nversion = "2.0"\n'
    )

    defaults = load_defaults(source)
    plan = plan_network(defaults.orgs, defaults.base_port, defaults.channel, defaults)

    assert len(plan.orgs) == 5
    assert plan.orgs[0].domain == "org1.x.test"
    assert (plan.chaincode.name, plan.chaincode.version) == ("cc", "2.0")


def test_broken_defaults_file_is_a_clear_error(tmp_path: Path) -> None:
    source = tmp_path / "defaults.toml"
    source.write_text("[network\n")

    with pytest.raises(FedloraError, match="not valid TOML"):
        load_defaults(source)


def test_checkout_defaults_file_is_readable() -> None:
    defaults = load_defaults()

    plan_network(defaults.orgs, defaults.base_port, defaults.channel, defaults)
    assert defaults.chaincode.name == "fedlora"
