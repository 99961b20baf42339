#!/usr/bin/env bash
# Build the fedlora chaincode (chaincode-as-a-service binary) into chaincode/bin/fedlora-cc.
# Idempotent: Go's build cache makes a second run a quick no-op rebuild. The binary is
# written next to its final name and renamed, so a failed build never leaves half a file.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/chaincode/bin/fedlora-cc"

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed or not on PATH -- install Go 1.26 or newer to build the chaincode" >&2
  exit 1
fi

echo "==> building chaincode/bin/fedlora-cc ($(go env GOVERSION))"
mkdir -p "$(dirname "$out")"
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd "$root/chaincode" && GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false -o "$tmp" .)
mv -f "$tmp" "$out"
trap - EXIT
