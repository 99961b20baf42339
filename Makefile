# fedlora: the two commands a person needs are `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Fabric's source tarball, where this workplace keeps one beside the checkout; setup builds
# Fabric from it offline (README: Fabric binaries). Set FABRIC_SRC to use another.
FABRIC_SRC ?= $(wildcard $(CURDIR)/../shared/fabric/fabric-2.5.16-src.tar.xz)
export FABRIC_SRC

.PHONY: setup setup-python setup-fabric setup-browser chaincode lock proto lint test test-unit test-go demo bench clean

setup: setup-python setup-fabric chaincode

# .venv: fedlora installed editable, on the dependencies uv.lock pins (cached, keyed by its hash).
setup-python:
	bash scripts/setup_python.sh

# After changing dependencies in pyproject.toml: re-resolve uv.lock (commit both), then set up.
lock:
	bash scripts/setup_python.sh --lock

setup-fabric:
	bash scripts/setup_fabric.sh

# Headless Chromium (Debian's package, apt-get only when /usr/bin/chromium is missing) for the
# tests that render the audit report in a real browser; required where FEDLORA_REQUIRE_LIVE=1.
setup-browser:
	bash scripts/setup_browser.sh

chaincode:
	bash scripts/build_chaincode.sh

proto: setup-python
	$(PY) scripts/gen_proto.py

lint: setup-python
	$(VENV)/bin/ruff check node tests scripts
	$(VENV)/bin/ruff format --check node tests scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) scripts/gen_proto.py --check

test-go:
	cd chaincode && go vet ./... && go test ./...

# Tests run everywhere: where Fabric 2.5 binaries cannot be had, setup records why and the
# live-network tests report that reason when they skip.
test: export FEDLORA_FABRIC_OPTIONAL = 1
test: setup setup-browser lint test-go
	$(VENV)/bin/pytest -q -rs

# Without Fabric binaries the demo says why and runs its in-process part (see README).
demo: export FEDLORA_FABRIC_OPTIONAL = 1
demo: setup
	$(VENV)/bin/fedlora demo

bench: setup
	$(VENV)/bin/fedlora bench all

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache
