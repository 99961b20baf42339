"""A consortium of three hospitals, each on a host of its own (a network namespace).

Every step is a `fedlora network` command run inside the org's namespace with only the org's
own folder, and every command of the README's "Deploying across hosts" section is one of them:
the test reads them from the README (tests/support/readme_deploy.py) and fails if one is left
unrun. each org creates its own keys (`org init`) and exports its public definition; the
definitions (and later the genesis block) are the only files that travel between hosts. Org1
builds the genesis block from the three definitions; each org starts its own orderer and peer,
joins both, installs the chaincode, runs its own chaincode server and approves on its own peer;
org1 commits the definition and a transaction commits. Then org3's orderer is killed and a
transaction still commits (Raft keeps 2 of 3). Finally no folder holds another org's private
key, and no definition file holds any.

Org4 then joins while the consortium runs (a config update signed by a majority, each
signature a file; its orderer becomes a fourth consenter), commits a transaction through its
own orderer, and leaves again the same way.

A second test forms the same consortium and runs a 3-round training session on it, one node per
org on its org's host (each using its own peer as Gateway); org3's orderer is killed once round
1 is final, and the session must complete with an intact lineage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import tomli_w
from tests.integration.netns import Hosts, unavailable_reason
from tests.integration.test_peers_netns import _children_stopped_on_exit
from tests.integration.test_reliability_live import (
    ROUNDS,
    ChainWatch,
    NodesInBackground,
    _check_completed_with_intact_lineage,
)
from tests.support.readme_deploy import Placeholders, ReadmeScript

from fedlora.cli import demo_steps as demo
from fedlora.cli.session import build_spec
from fedlora.config import load_node_config
from fedlora.daemon.wiring import open_contract
from fedlora.network import FabricInstall
from fedlora.network.org import OrgFolder, load_settings

REASON = unavailable_reason()
pytestmark = [
    pytest.mark.fabric,
    pytest.mark.skipif(REASON is not None, reason=f"no network namespaces: {REASON}"),
]

HOSTS = ["org1", "org2", "org3"]
NEW = "org4"  # added while the consortium runs
FEDLORA = str(Path(sys.executable).with_name("fedlora"))


class Consortium:
    """The hosts, each org's folder, and the folder standing for files handed between hosts."""

    def __init__(self, hosts: Hosts, root: Path, base_port: int) -> None:
        self.hosts, self.root, self.base_port = hosts, root, base_port
        self.shared = root / "handed-over"
        self.shared.mkdir(parents=True)
        everyone = [*HOSTS, NEW]
        self.script = ReadmeScript(
            Placeholders(
                org_dir={host: self.folder(host) for host in everyone},
                address={host: hosts.address(host) for host in everyone},
                shared=self.shared,
                base_port=base_port,
                node_port=base_port + 50,
            )
        )

    def folder(self, host: str) -> Path:
        return self.root / host

    def name(self, host: str) -> str:
        return f"Org{[*HOSTS, NEW].index(host) + 1}"

    def definitions(self, hosts: list[str] = HOSTS) -> list[str]:
        flags: list[str] = []
        for host in hosts:
            flags += ["--member", str(self.shared / f"{host}.json")]
        return flags

    def attempt(
        self, host: str, *args: str, timeout_s: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """``fedlora network <args> --dir <host's folder>`` inside the host's namespace."""
        argv = [FEDLORA, "network", *args, "--dir", str(self.folder(host))]
        return subprocess.run(
            self.hosts.command(host, argv),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "COLUMNS": "200"},
            check=False,
        )

    def node(self, host: str, *args: str) -> str:
        """``fedlora <args>`` (a node command) inside the host's namespace."""
        done = subprocess.run(
            self.hosts.command(host, [FEDLORA, *args]),
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        assert done.returncode == 0, f"{host}: {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def readme(
        self, host: str, subcommand: str, *flags: str, text: str = "", extra: tuple[str, ...] = ()
    ) -> str:
        """Run the README's command ``subcommand`` (see :meth:`ReadmeScript.argv`) on ``host``,
        plus ``extra`` arguments; it must succeed. Returns what it printed."""
        argv = [FEDLORA, *self.script.argv(host, subcommand, *flags, text=text), *extra]
        done = subprocess.run(
            self.hosts.command(host, argv),
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        assert done.returncode == 0, f"{host}: {' '.join(argv)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def run(self, host: str, *args: str, timeout_s: float = 120.0) -> str:
        """:meth:`attempt`, which must succeed; returns what it printed."""
        done = self.attempt(host, *args, timeout_s=timeout_s)
        assert done.returncode == 0, f"{host}: {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def pid(self, host: str, process: str) -> int:
        records = json.loads((self.folder(host) / "processes.json").read_text())
        return int(records[process]["pid"])

    def stop(self) -> None:
        for host in [*HOSTS, NEW]:
            if (self.folder(host) / "processes.json").is_file():
                subprocess.run(
                    self.hosts.command(host, [FEDLORA, "network", "org", "stop", "--dir",
                                              str(self.folder(host))]),
                    capture_output=True, check=False, timeout=60,
                )  # fmt: skip


@pytest.fixture
def consortium(
    fabric_install: FabricInstall, chaincode_server: Path, tmp_path: Path, free_base_port: int
) -> Iterator[Consortium]:
    with Hosts([*HOSTS, NEW]) as hosts:
        members = Consortium(hosts, tmp_path, free_base_port)
        try:
            yield members
        finally:
            members.stop()


def _private_keys(folder: Path) -> set[str]:
    keys = set()
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size < 100_000:
            text = path.read_text(errors="replace")
            if "PRIVATE KEY" in text:
                keys.add(text.strip())
    return keys


def _form(consortium: Consortium, timings: dict[str, float]) -> None:
    """Three orgs, each on its own host: keys, definitions, genesis, processes, chaincode, a
    first committed transaction; the README's commands, in its order."""
    started = time.monotonic()
    # Each host: its own keys, then its public definition, handed to the others.
    for host in HOSTS:
        consortium.readme(host, "network org init")
        consortium.readme(host, "network org export")
        assert "PRIVATE KEY" not in (consortium.shared / f"{host}.json").read_text()
    timings["init+export (3 orgs)"] = time.monotonic() - started

    # Org1 builds the genesis block from the three definitions; the block is handed around.
    formed = time.monotonic()
    consortium.readme("org1", "network consortium genesis")
    for host in HOSTS:
        consortium.readme(host, "network org start")
        consortium.readme(host, "network org join", "--block")
    for host in HOSTS:
        consortium.readme(host, "network org deploy")
    consortium.readme("org1", "network consortium commit")
    answer = consortium.readme("org1", "network org invoke")
    assert "status:200" in answer
    timings["genesis to first commit"] = time.monotonic() - formed


def _add_org4(consortium: Consortium, timings: dict[str, float]) -> None:
    """Org4 joins the running consortium (see the module docstring) and commits a first
    transaction, endorsed by Org4, Org1 and Org2."""
    # Org4 joins the running consortium, its orderer as a fourth consenter: org1 proposes,
    # org1's and org2's admins sign on their own hosts (a majority of 3), the signatures travel
    # as files, org1 submits.
    added = time.monotonic()
    consortium.readme(NEW, "network org init")
    consortium.readme(NEW, "network org export")
    consortium.readme("org1", "network consortium propose-add")
    for signer in ("org1", "org2"):
        consortium.readme(signer, "network consortium sign", text="add-org4")
    # One admin's signature (org2's; org1's own is added by org1's submit) is a minority.
    update = consortium.shared / "add-org4.pb"
    alone = ["--signature", str(consortium.shared / "org2.sig")]
    refused = consortium.attempt("org2", "consortium", "submit", "--update", str(update), *alone)
    assert refused.returncode != 0 and "policy" in refused.stderr.lower(), refused.stderr
    consortium.readme("org1", "network consortium submit", text="add-org4")
    consortium.readme(NEW, "network org start")
    consortium.readme(NEW, "network org join", "--via")
    consortium.readme(NEW, "network org deploy", "--via")
    # Endorsed by Org4 and the next members (Org1, Org2): a majority of 4.
    answer = consortium.readme(NEW, "network org invoke", "--via")
    assert "status:200" in answer
    timings["org4: init to its first committed transaction"] = time.monotonic() - added


def test_three_hospitals_form_a_consortium_and_survive_losing_an_orderer(
    consortium: Consortium,
) -> None:
    timings: dict[str, float] = {}
    _form(consortium, timings)

    # Each org's node, its identity issued on its own host, registers through its own peer's
    # Gateway (which asks the other orgs' peers to endorse).
    for host in HOSTS:
        consortium.readme(host, "network org node-init", extra=("--model", "tiny"))
        consortium.readme(host, "node join")

    # Org3's orderer dies: the other two keep ordering, through org2's orderer this time.
    os.kill(consortium.pid("org3", "orderer"), signal.SIGKILL)
    after = time.monotonic()
    answer = consortium.run("org2", "org", "invoke", *consortium.definitions(),
                            "--endorser", "Org2MSP", "--endorser", "Org1MSP")  # fmt: skip
    assert "status:200" in answer
    timings["commit with org3's orderer dead"] = time.monotonic() - after

    # Org3's orderer comes back (and catches up) before the consenter set grows.
    consortium.run("org3", "org", "start")

    _add_org4(consortium, timings)
    everyone = consortium.definitions([*HOSTS, NEW])
    # Each node trusts Org4's TLS CA from its next start on.
    for host in HOSTS:
        consortium.readme(host, "network org node-trust")
        assert list((consortium.folder(host) / "nodes/node1/member-cas").glob("*org4*"))
    # Org4's own orderer is a consenter now: a transaction ordered through it commits.
    answer = consortium.run(NEW, "org", "invoke", *everyone, "--endorser", "Org4MSP",
                            "--endorser", "Org1MSP", "--endorser", "Org3MSP")  # fmt: skip
    assert "status:200" in answer

    # Org4 leaves: org1 proposes, a majority of the 4 members (org1, org2, org3) sign, org1
    # submits. Then 2 endorsers of the 3 left are a majority again.
    removed = time.monotonic()
    consortium.readme("org1", "network consortium propose-remove")
    for signer in HOSTS:
        consortium.readme(signer, "network consortium sign", text="remove-org4")
    consortium.readme("org1", "network consortium submit", text="remove-org4")
    consortium.readme(NEW, "network org stop")
    answer = consortium.run("org1", "org", "invoke", *consortium.definitions(),
                            "--endorser", "Org1MSP", "--endorser", "Org2MSP")  # fmt: skip
    assert "status:200" in answer
    timings["org4 removed, next commit"] = time.monotonic() - removed

    # The README's deployment section was followed command by command.
    assert consortium.script.not_run() == [], "README commands this test never ran"

    # No host's folder holds another org's private key.
    keys = {host: _private_keys(consortium.folder(host)) for host in [*HOSTS, NEW]}
    for host in keys:
        assert keys[host], f"{host} has no keys of its own"
        for other in keys:
            if other != host:
                assert not keys[host] & keys[other], f"{host} and {other} share a private key"
    assert not _private_keys(consortium.shared)
    print("\n" + "\n".join(f"{step}: {seconds:.1f} s" for step, seconds in timings.items()))


def _session_nodes(
    consortium: Consortium, settings: demo.DemoSettings, hosts: list[str] = HOSTS
) -> list[demo.DemoNode]:
    """One node per org of ``hosts``, made and registered on its own host; training kept short."""
    nodes = []
    for host in hosts:
        index = [*HOSTS, NEW].index(host)
        folder = consortium.folder(host) / "nodes" / "node1"
        site = f"client-{index}"  # the partitioner names sites client-0, client-1, ...
        listen = f"{consortium.hosts.address(host)}:{consortium.base_port + 50}"
        members = consortium.definitions([*HOSTS, NEW] if NEW in hosts else HOSTS)
        consortium.run(host, "org", "node-init", *members, "--name", "node1",
                       "--listen", listen, "--out", str(folder), "--model", settings.model,
                       "--site", site)  # fmt: skip
        config_path = folder / "node.toml"
        config = tomllib.loads(config_path.read_text())
        config["training"].update(
            steps=settings.steps, batch_size=settings.batch_size, lr=settings.lr
        )
        config_path.write_text(tomli_w.dumps(config))
        consortium.node(host, "node", "join", "--config", str(config_path))
        gateway, _, node_id = open_contract(load_node_config(config_path))
        gateway.close()
        nodes.append(demo.DemoNode(node_id, site, config_path))
    return nodes


def _create_session(
    consortium: Consortium, settings: demo.DemoSettings, nodes: list[demo.DemoNode]
) -> None:
    """Org1's admin (its MSP on org1's host) creates and starts the session."""
    spec = build_spec(
        settings.session_id, model=settings.model, rounds=settings.rounds,
        quorum=settings.quorum, rule=settings.rule,
        dataset=f"icd10:dirichlet:{settings.alpha}:{len(nodes)}:0",
        lora=(8, 16.0, settings.top_layers), deadline=settings.deadline_seconds,
        participants=tuple(node.node_id for node in nodes),
    )  # fmt: skip
    org1 = OrgFolder(consortium.folder("org1"))
    admin = org1.admin_msp(load_settings(org1))
    gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path), admin)
    with gateway:
        contract.create_session(spec)
        contract.start_session(settings.session_id)


def test_a_session_on_the_consortium_completes_when_an_orderer_host_dies(
    consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _form(consortium, {})
    settings = demo.DemoSettings(
        tmp_path / "session", model="tiny", rounds=ROUNDS, steps=2, batch_size=4, top_layers=1,
        quorum=2, session_id="consortium",
    )  # fmt: skip
    nodes = _session_nodes(consortium, settings)
    _create_session(consortium, settings, nodes)
    # Each node process runs on its org's host (the demo starts them on this one).
    start_here = demo.node_start_command

    def on_its_host(config_path: Path, session_id: str) -> list[str]:
        host = next(h for h in [*HOSTS, NEW] if consortium.folder(h) in config_path.parents)
        return consortium.hosts.command(host, start_here(config_path, session_id))

    monkeypatch.setattr(demo, "node_start_command", on_its_host)
    gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path))
    with gateway, _children_stopped_on_exit():
        running = NodesInBackground(settings, nodes)
        watch = ChainWatch(contract, settings.session_id, running.check)
        watch.wait_for("round 1 final", lambda p: p[1] > 1 or p[2] == "final")
        os.kill(consortium.pid("org3", "orderer"), signal.SIGKILL)
        watch.wait_for("the session's end", lambda p: p[0] != "running")
        running.join()
        _check_completed_with_intact_lineage(contract, nodes, settings.session_id)

    # Org3's orderer comes back; Org4 joins the consortium, its node the next session (the
    # others' nodes first trust Org4's TLS CA).
    consortium.run("org3", "org", "start")
    _add_org4(consortium, {})
    everyone = consortium.definitions([*HOSTS, NEW])
    for host, node in zip(HOSTS, nodes, strict=True):
        consortium.run(host, "org", "node-trust", *everyone, "--node", str(node.config_path.parent))
    nodes += _session_nodes(consortium, settings, [NEW])
    settings = replace(settings, session_id="consortium-2", quorum=3)
    _create_session(consortium, settings, nodes)
    gateway, contract, _ = open_contract(load_node_config(nodes[0].config_path))
    with gateway, _children_stopped_on_exit():
        running = NodesInBackground(settings, nodes)
        watch = ChainWatch(contract, settings.session_id, running.check)
        watch.wait_for("the session's end", lambda p: p[0] != "running")
        running.join()
        _check_completed_with_intact_lineage(contract, nodes, settings.session_id)
        rounds = contract.export_trail(settings.session_id).rounds
        assert all(nodes[-1].node_id in round_.updates for round_ in rounds)  # Org4's node
