"""A 3-org consortium on this one host, formed only from the per-org steps, timed and weighed.

Usage::

    .venv/bin/python scripts/bench_composed_network.py [--idle-s 10]

Runs in one process the functions behind `fedlora network org init/export/start/join/deploy`
and `consortium genesis/commit` plus `org invoke`, one org after another, each org in a folder
of its own on 127.0.0.1 with its own orderer, peer and chaincode server; prints each step's
seconds and, after ``--idle-s`` idle seconds, each process's resident memory (MiB). This is what
a `network up` built wholly from the per-org folders would cost (BENCHMARKS.md, issue 16).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import psutil

from fedlora.network import locate_fabric
from fedlora.network.consortium import commit_chaincode, deploy_chaincode, invoke, join
from fedlora.network.genesis import create_genesis
from fedlora.network.org import OrgFolder, OrgSettings, init_org, write_definition
from fedlora.network.org_nodes import launch, orderer_spec, peer_spec, stop_all
from fedlora.network.topology import LOOPBACK, find_free_base_port


def form(root: Path, marks: list[tuple[str, float]]) -> list[tuple[OrgFolder, OrgSettings]]:
    """Form the consortium in ``root``; append (step, seconds since start) to ``marks``."""
    install, base, started = locate_fabric(), find_free_base_port(), time.monotonic()
    orgs = [
        (OrgFolder(root / f"org{k}"), OrgSettings(f"Org{k}", LOOPBACK, base + 20 * (k - 1)))
        for k in (1, 2, 3)
    ]

    def mark(step: str) -> None:
        marks.append((step, time.monotonic() - started))

    definitions = []
    for folder, org in orgs:
        init_org(folder, org, install)
        definitions.append(write_definition(folder, root / f"{org.name}.json"))
    mark("init + export")
    block = create_genesis(orgs[0][0], definitions, "fedlora", root / "fedlora.block", install)
    mark("genesis")
    for folder, org in orgs:
        launch(folder, orderer_spec(folder, org, install))
        launch(folder, peer_spec(folder, org, install))
    mark("start")
    for folder, _ in orgs:
        join(folder, block, install)
    mark("join")
    for folder, _ in orgs:
        deploy_chaincode(folder, "fedlora", install)
    mark("deploy")
    commit_chaincode(orgs[0][0], definitions, "fedlora", install)
    mark("commit")
    invoke(orgs[0][0], definitions, "fedlora", install)
    mark("invoke")
    return orgs


def resident_mib(orgs: list[tuple[OrgFolder, OrgSettings]]) -> dict[str, float]:
    """Resident memory of every recorded process, by ``<org>.<process>``."""
    sizes = {}
    for folder, org in orgs:
        records = json.loads(folder.processes_file.read_text(encoding="utf-8"))
        for name, record in records.items():
            rss = psutil.Process(record["pid"]).memory_info().rss
            sizes[f"{org.name}.{name}"] = rss / 2**20
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=10.0, help="idle seconds before weighing")
    idle_s = parser.parse_args().idle_s
    marks: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="fedlora-composed-") as scratch:
        orgs: list[tuple[OrgFolder, OrgSettings]] = []
        try:
            orgs = form(Path(scratch), marks)
            time.sleep(idle_s)
            sizes = resident_mib(orgs)
        finally:
            for folder in (Path(scratch) / f"org{k}" for k in (1, 2, 3)):
                stop_all(OrgFolder(folder))
    previous = 0.0
    for step, at in marks:
        print(f"{step:14s} {at - previous:5.2f} s")
        previous = at
    print(f"{'first commit':14s} {previous:5.2f} s")
    print(" ".join(f"{name} {mib:.0f}" for name, mib in sizes.items()))
    print(f"idle RSS {sum(sizes.values()):.0f} MiB after {idle_s:.0f} s")


if __name__ == "__main__":
    main()
