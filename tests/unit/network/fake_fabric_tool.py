"""A stand-in for Fabric's programs, for unit tests of `fedlora network` without Fabric.

Invoked as ``python fake_fabric_tool.py <program> <args...>`` through small wrappers named
after the real programs. Long-running programs (orderer, ``peer node start``, the chaincode
server) bind the ports their environment names and answer /healthz; CLI calls do just enough
for the orchestration to proceed (files written, ids computed, heights counted). Every call
is appended to ``calls.log`` in FABRIC_CFG_PATH; ``FAKE_FABRIC_FAIL=<word>`` makes any call
whose arguments contain that word fail the way a Fabric CLI does.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import socket
import sys
import tarfile
import threading
import time
from pathlib import Path


def _split(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def _listen(address: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(_split(address))
    sock.listen()
    return sock


def _serve_forever(health: str | None, plain: list[str]) -> None:
    _sockets = [_listen(address) for address in plain]
    if health:
        # Imported here: the many short CLI calls should not pay for it.
        import http.server

        class Health(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/healthz"
                self.send_response(200 if found else 404)
                self.end_headers()
                self.wfile.write(b'{"status":"OK"}' if found else b"{}")

            def log_message(self, *args: object) -> None:
                return

        server = http.server.HTTPServer(_split(health), Health)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"serving {health} {plain}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    crash_marker = _state("fake-crash-peers") if "CORE_PEER_ID" in os.environ else None
    while True:
        time.sleep(0.05)
        if crash_marker is not None and crash_marker.exists():
            print("\x1b[31m2026-01-01 [peer] ERRO 001 lost the ledger\x1b[0m", flush=True)
            print("panic: simulated crash\n\ngoroutine 1 [running]:\nmain.main()", flush=True)
            os._exit(2)


def _state(name: str) -> Path:
    return Path(os.environ["FABRIC_CFG_PATH"]) / name


def _label(package: str) -> str:
    with tarfile.open(package) as archive:
        member = archive.extractfile("metadata.json")
        assert member is not None
        return str(json.load(io.TextIOWrapper(member))["label"])


def _peer(args: list[str]) -> None:
    if args[:2] == ["node", "start"]:
        env = os.environ
        listen = [env["CORE_PEER_LISTENADDRESS"], env["CORE_PEER_CHAINCODELISTENADDRESS"]]
        _serve_forever(env["CORE_OPERATIONS_LISTENADDRESS"], listen)
    try:
        socket.create_connection(_split(os.environ["CORE_PEER_ADDRESS"]), timeout=2).close()
    except OSError as error:
        sys.exit(f"Error: failed to connect to {os.environ['CORE_PEER_ADDRESS']}: {error}")
    if "calculatepackageid" in args:
        package = args[-1]
        digest = hashlib.sha256(Path(package).read_bytes()).hexdigest()
        print(f"{_label(package)}:{digest}")
    elif "commit" in args:
        _state("fake-committed").write_text("1.0")
    elif "querycommitted" in args:
        if not _state("fake-committed").exists():
            sys.exit("Error: query failed with status: 404 - namespace fedlora is not defined")
        print(json.dumps({"sequence": 1, "version": _state("fake-committed").read_text()}))
    elif "invoke" in args:
        height = _state("fake-height")
        height.write_text(str(int(height.read_text()) + 1 if height.exists() else 1))
        result = 'result: status:200 payload:"{}"'
        print(f"INFO Chaincode invoke successful. {result}", file=sys.stderr)
    elif "query" in args:
        print(json.dumps({"contracts": {"fedlora": {}}}))
    elif "getinfo" in args:
        height = _state("fake-height")
        blocks = int(height.read_text()) + 1 if height.exists() else 1
        print(f'Blockchain info: {{"height":{blocks},"currentBlockHash":"x"}}')


def _cryptogen(args: list[str]) -> None:
    """The output folder, with each member org's peer TLS files (packages embed them)."""
    output = Path(next(a for a in args if a.startswith("--output=")).split("=", 1)[1])
    output.mkdir(parents=True, exist_ok=True)
    config = Path(next(a for a in args if a.startswith("--config=")).split("=", 1)[1])
    peer_orgs = config.read_text().split("PeerOrgs:", 1)[-1]
    for domain in re.findall(r"Domain: (\S+)", peer_orgs):
        tls = output / "peerOrganizations" / domain / "peers" / f"peer0.{domain}" / "tls"
        tls.mkdir(parents=True, exist_ok=True)
        for name in ("ca.crt", "server.crt", "server.key"):
            (tls / name).write_text(f"stand-in {name} of {domain}\n")


def main() -> None:
    program, args = sys.argv[1], sys.argv[2:]
    if "FABRIC_CFG_PATH" in os.environ and Path(os.environ["FABRIC_CFG_PATH"]).is_dir():
        with _state("calls.log").open("a") as log:
            log.write(" ".join([program, *args]) + "\n")
    failing = os.environ.get("FAKE_FABRIC_FAIL")
    if failing and failing in args:
        sys.exit(f"Error: injected failure of {failing}")
    flaky = os.environ.get("FAKE_FABRIC_UNAVAILABLE_ONCE")
    if flaky and flaky in args and not _state(f"fake-flaked-{flaky}").exists():
        _state(f"fake-flaked-{flaky}").touch()
        sys.exit("Error: proposal failed with status: SERVICE_UNAVAILABLE -- no Raft leader")
    if program == "orderer":
        env = os.environ
        port = env["ORDERER_GENERAL_LISTENPORT"]
        listen = [f"127.0.0.1:{port}", env["ORDERER_ADMIN_LISTENADDRESS"]]
        _serve_forever(env["ORDERER_OPERATIONS_LISTENADDRESS"], listen)
    elif program == "chaincode":
        if not os.environ.get("CORE_CHAINCODE_ID_NAME"):
            sys.exit("CORE_CHAINCODE_ID_NAME not set")
        _serve_forever(None, [os.environ["CHAINCODE_SERVER_ADDRESS"]])
    elif program == "osnadmin" and os.environ.get("FAKE_CRASH_PEERS_ON_JOIN"):
        _state("fake-crash-peers").touch()
        time.sleep(0.5)  # time for the peers to notice and die
    elif program == "cryptogen":
        _cryptogen(args)
    elif program == "configtxgen":
        Path(args[args.index("-outputBlock") + 1]).write_bytes(b"genesis")
    elif program == "peer":
        _peer(args)


if __name__ == "__main__":
    main()
