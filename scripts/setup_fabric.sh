#!/usr/bin/env bash
# Provide the Hyperledger Fabric 2.5.16 toolchain `fedlora network` runs, cached outside the
# checkout in ${FEDLORA_CACHE:-~/.cache/fedlora}/fabric-2.5.16/:
#   bin/                 peer orderer configtxgen cryptogen osnadmin
#   config/              core.yaml orderer.yaml from the same version's sampleconfig
#   .complete            written last; its presence means the folder is usable
# (fedlora's chaincode-as-a-service builder ships inside the fedlora package, in
# node/fedlora/network/builders/; `fedlora network up` copies it into each network.)
# Sources, in order, the first that is offered and works:
#   1. the cache;
#   2. FABRIC_BIN_DIR, a folder holding Fabric 2.5.x binaries (e.g. a release's bin/), with
#      FABRIC_CONFIG_DIR pointing at its sampleconfig (default: the folder's ../config);
#   3. FABRIC_SRC, Fabric's v2.5.16 source with its vendor/ tree, as a tarball (checked against
#      the SHA256SUMS file beside it or FABRIC_SRC_SHA256) or as an unpacked tree; built offline;
#   4. `go install` of Fabric's Go module at the v2.5.16 commit (some proxies refuse it);
#   5. the official release download from GitHub, for machines with internet access, checked
#      against FABRIC_RELEASE_SHA256 (the digest GitHub's release page lists for the asset).
# When none works, it says why in one line and records the reason in fabric-2.5.16/UNAVAILABLE;
# it then exits 0 only with FEDLORA_FABRIC_OPTIONAL=1 (and never with FEDLORA_REQUIRE_LIVE=1).
# Idempotent: a second run is a cache hit.
set -euo pipefail

version=2.5.16
commit=f871cf92a026aba7b12e6f06d71ded3e6e659d71
module=github.com/hyperledger/fabric
# Fabric's module path has no /v2 suffix, so its v2.x tags are not valid module versions; the
# commit's pseudo-version (based on the newest v1 tag below it) is the only way to name it.
pseudo=v1.4.0-rc1.0.20260617221605-f871cf92a026
binaries=(peer orderer configtxgen cryptogen osnadmin configtxlator)

cache="${FEDLORA_CACHE:-$HOME/.cache/fedlora}"
target="$cache/fabric-$version"
reason=""

step() { echo "==> $*"; }

# Squeezes a tool's multi-line output into one line of at most 300 characters.
one_line() { printf '%s' "$1" | tr '\n\t' '  ' | tr -s ' ' | sed 's/^ //' | cut -c1-300; }

is_complete() {
  [ -f "$1/.complete" ] || return 1
  local name
  for name in "${binaries[@]}"; do [ -x "$1/bin/$name" ] || return 1; done
  [ -f "$1/config/core.yaml" ] && [ -f "$1/config/orderer.yaml" ]
}

# Prints the Version line of `peer version`, e.g. 2.5.16.
peer_version() { "$1" version 2>/dev/null | awk '/Version:/ {print $2; exit}'; }

from_bin_dir() {
  local dir="$1" config="${FABRIC_CONFIG_DIR:-$1/../config}" name
  step "using Fabric binaries from FABRIC_BIN_DIR=$dir"
  for name in "${binaries[@]}"; do
    if [ ! -x "$dir/$name" ]; then reason="FABRIC_BIN_DIR=$dir has no executable $name"; return 1; fi
  done
  check_version "$dir" || return 1
  if [ ! -f "$config/core.yaml" ] || [ ! -f "$config/orderer.yaml" ]; then
    reason="no core.yaml/orderer.yaml in $config (set FABRIC_CONFIG_DIR to Fabric's sampleconfig)"
    return 1
  fi
  for name in "${binaries[@]}"; do cp "$dir/$name" "$staging/bin/$name"; done
  cp "$config/core.yaml" "$config/orderer.yaml" "$staging/config/"
}

# Checks a source tarball against FABRIC_SRC_SHA256 or the SHA256SUMS file beside it.
verify_tarball() {
  local tarball="$1" expected="${FABRIC_SRC_SHA256:-}" sums actual
  sums="$(dirname "$tarball")/SHA256SUMS"
  if [ -z "$expected" ] && [ -f "$sums" ]; then
    expected="$(awk -v f="$(basename "$tarball")" '$2 == f || $2 == "*"f {print $1}' "$sums")"
  fi
  if [ -z "$expected" ]; then
    reason="no checksum for FABRIC_SRC=$tarball: set FABRIC_SRC_SHA256 or put a SHA256SUMS beside it"
    return 1
  fi
  actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
  if [ "$actual" != "$expected" ]; then
    reason="FABRIC_SRC=$tarball has sha256 $actual, expected $expected"
    return 1
  fi
  step "checksum of $(basename "$tarball") verified"
}

from_source() {
  local src="$1" tree ldflags name packages=()
  if ! command -v go >/dev/null; then reason="no Go toolchain on PATH to build Fabric with"; return 1; fi
  if [ -f "$src" ]; then
    verify_tarball "$src" || return 1
    step "unpacking $(basename "$src")"
    mkdir -p "$staging/src"
    if ! tar xJf "$src" -C "$staging/src"; then reason="could not unpack FABRIC_SRC=$src"; return 1; fi
    tree="$(find "$staging/src" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  elif [ -d "$src" ]; then
    tree="$src"
  else
    reason="FABRIC_SRC=$src is neither a file nor a folder"; return 1
  fi
  if [ ! -d "$tree/cmd/peer" ] || [ ! -f "$tree/vendor/modules.txt" ]; then
    reason="FABRIC_SRC=$src holds no Fabric source with a vendor/ tree (cmd/peer, vendor/modules.txt)"
    return 1
  fi
  for name in "${binaries[@]}"; do packages+=("./cmd/$name"); done
  ldflags="-s -w -X $module/common/metadata.Version=$version -X $module/common/metadata.CommitSHA=${commit:0:9}"
  step "building ${binaries[*]} from source, offline (about 2.5 minutes on 2 cores)"
  if ! (cd "$tree" && GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local \
        go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$staging/bin/" "${packages[@]}"); then
    reason="building Fabric from FABRIC_SRC=$src failed (see the output above)"
    return 1
  fi
  check_version "$staging/bin" || return 1
  cp "$tree/sampleconfig/core.yaml" "$tree/sampleconfig/orderer.yaml" "$staging/config/"
  chmod u+w "$staging/config/"*.yaml
  rm -rf "$staging/src"
}

# Downloads the official release for this platform; its digest must be given, never trusted.
from_release() {
  local arch url archive
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  url="https://github.com/hyperledger/fabric/releases/download/v$version/hyperledger-fabric-linux-$arch-$version.tar.gz"
  if [ -z "${FABRIC_RELEASE_SHA256:-}" ]; then
    reason="$reason; to download $url instead, set FABRIC_RELEASE_SHA256 to the digest on its release page"
    return 1
  fi
  archive="$staging/release.tar.gz"
  step "downloading $url"
  if ! curl -fsSL --max-time 600 -o "$archive" "$url"; then reason="could not download $url"; return 1; fi
  if [ "$(sha256sum "$archive" | cut -d' ' -f1)" != "$FABRIC_RELEASE_SHA256" ]; then
    reason="$url does not match FABRIC_RELEASE_SHA256"; return 1
  fi
  mkdir -p "$staging/release"
  tar xzf "$archive" -C "$staging/release"
  FABRIC_CONFIG_DIR="$staging/release/config" from_bin_dir "$staging/release/bin"
  rm -rf "$staging/release" "$archive"
}

# Fails unless DIR/peer reports version 2.5.x.
check_version() {
  local found
  found="$(peer_version "$1/peer" || true)"
  case "$found" in
    2.5.*) step "peer version $found" ;;
    *) reason="$1 holds peer version '${found:-unknown}', not 2.5.x"; return 1 ;;
  esac
}

from_go_module() {
  local out packages=() name src ldflags
  if ! command -v go >/dev/null; then reason="no Go toolchain on PATH to build Fabric with"; return 1; fi
  step "asking the Go module proxy for $module@$pseudo (Fabric $version)"
  if ! out="$(cd "$staging" && timeout 120 go list -m "$module@$pseudo" 2>&1)"; then
    reason="the Go module proxy refused $module@$pseudo: $(one_line "$out")"
    return 1
  fi
  for name in "${binaries[@]}"; do packages+=("$module/cmd/$name@$pseudo"); done
  ldflags="-X $module/common/metadata.Version=$version -X $module/common/metadata.CommitSHA=${commit:0:9}"
  step "building ${binaries[*]} with go install (first build takes 3-5 minutes)"
  if ! (cd "$staging" && GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$staging/bin" \
        go install -trimpath -ldflags "$ldflags" "${packages[@]}"); then
    reason="go install of Fabric $version failed (see the output above)"
    return 1
  fi
  step "copying core.yaml and orderer.yaml from the module's sampleconfig"
  src="$(cd "$staging" && go mod download -json "$module@$pseudo" \
         | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  cp "$src/sampleconfig/core.yaml" "$src/sampleconfig/orderer.yaml" "$staging/config/"
  chmod u+w "$staging/config/"*.yaml   # module cache files are read-only
}

give_up() {
  mkdir -p "$target"
  rm -f "$target/.complete"
  printf '%s\n' "$reason" > "$target/UNAVAILABLE"
  echo "Fabric $version binaries are unavailable: $reason -- provide FABRIC_SRC=<Fabric $version" \
       "source tarball with vendor/> or FABRIC_BIN_DIR=<a Fabric 2.5 release's bin/> and run" \
       "scripts/setup_fabric.sh again (README: Fabric binaries)" >&2
  if [ "${FEDLORA_REQUIRE_LIVE:-0}" != "1" ] && [ "${FEDLORA_FABRIC_OPTIONAL:-0}" = "1" ]; then
    exit 0
  fi
  exit 1
}

if is_complete "$target"; then
  step "Fabric $version cached: $target"
  exit 0
fi

mkdir -p "$cache"
staging="$(mktemp -d "$cache/.fabric-$version.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/bin" "$staging/config"

# An explicitly named source that fails is reported as such, not papered over by the next one.
if [ -n "${FABRIC_BIN_DIR:-}" ]; then
  from_bin_dir "$FABRIC_BIN_DIR" || give_up
elif [ -n "${FABRIC_SRC:-}" ]; then
  from_source "$FABRIC_SRC" || give_up
else
  from_go_module || from_release || give_up
fi
touch "$staging/.complete"
# Swap the finished folder in at once, so a reader never sees a half-copied toolchain.
rm -rf "$target"
mv "$staging" "$target"
trap - EXIT
step "Fabric $version ready in $target ($("$target/bin/peer" version 2>/dev/null | awk '/Version:/ {print $2; exit}'))"
