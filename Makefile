# One entry point for every job; each target works on a fresh clone with Python 3.11+ and
# the package registries. Node.js is needed only by the targets that list install-node
# (the Postman converter of the bundles, oidc-provider of the end-to-end tests), which
# install node_modules themselves; demo, lint, typecheck and docs need Python only.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON := $(PYTHON)

SPEC ?= openapi/intelliauth.openapi.yaml
OUT ?= intelliauth_client
# The contract as committed, which `make generate` and `make check-breaking` compare SPEC with
# (git:REV:PATH or a file), where the changelog goes, and the acknowledged breaking changes.
BASELINE ?= git:HEAD:openapi/intelliauth.openapi.yaml
CHANGELOG ?= $(dir $(SPEC))CHANGELOG.md
BREAKING_ACK ?= $(dir $(SPEC))breaking-changes-ack.yaml
CHANGELOG_ENTRY ?= build/spec-bump/changelog-entry.md

.PHONY: help install install-node install-system generate bundles check-generated check-breaking \
	lint typecheck test test-fast bench demo update-spec docs clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed  ## Create .venv with the package and every dev tool (Python only).

install-node: node_modules/.installed  ## The Node tools: the Postman converter and oidc-provider (npm ci).

install-system:  ## Install system services the tests use (redis-server), when possible.
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
	      || echo "install-system: could not install redis-server; Redis tests will be skipped"; \
	  else echo "install-system: not root or no apt-get; Redis tests will be skipped"; fi; }

bundles: install install-node  ## Derive the JSON and Postman bundles from the YAML spec.
	$(BIN)/python -m codegen.bundles --spec $(SPEC) --out-dir $(dir $(SPEC))

generate: install install-node  ## Spec to client, bundles and changelog entry (SPEC=... OUT=... to try another spec).
	@$(BIN)/python -m codegen --spec $(SPEC) --out $(OUT)
	$(BIN)/python -m codegen.bundles --spec $(SPEC) --out-dir $(dir $(SPEC))
	$(BIN)/python -m codegen.changelog record --spec $(SPEC) --baseline $(BASELINE) \
		--changelog $(CHANGELOG) --entry $(CHANGELOG_ENTRY)

check-generated: install  ## Regenerate into a temporary folder and fail on any difference.
	$(BIN)/python -m codegen.check --spec $(SPEC) --package $(OUT)

check-breaking: install install-node  ## Fail on a breaking change of SPEC against BASELINE not in BREAKING_ACK.
	$(BIN)/python -m codegen.changelog check --spec $(SPEC) --baseline $(BASELINE) --ack $(BREAKING_ACK)

lint: install  ## ruff check and format check.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --exclude intelliauth_client .

typecheck: install  ## mypy --strict on intelliauth_ext and the generated client.
	$(BIN)/mypy

test: install install-node install-system  ## Everything: drift check, lint, types, and the full test suite.
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	$(BIN)/pytest

test-fast: install install-node  ## The test suite only.
	$(BIN)/pytest -x -q

bench: install install-system  ## Benchmarks against peers: writes docs/benchmarks.md and docs/benchmarks.png.
	$(BIN)/python tests/benchmarks/run_benchmarks.py

demo: install  ## The main job: the quickstart, then a FAPI 2.0 sign-in, against embedded sandboxes.
	$(BIN)/python examples/quickstart.py
	$(BIN)/python examples/fapi.py

update-spec: install  ## Fetch a spec (SPEC_URL=https://... or SPEC_FILE=path), generate, check-breaking, test.
	@test -n "$(SPEC_URL)$(SPEC_FILE)" || { echo "usage: make update-spec SPEC_URL=https://.../intelliauth.openapi.yaml (or SPEC_FILE=path)"; exit 2; }
	$(BIN)/python -m codegen.fetch --url "$(or $(SPEC_FILE),$(SPEC_URL))" --dest $(SPEC)
	$(MAKE) --no-print-directory generate
	$(MAKE) --no-print-directory check-breaking
	$(MAKE) --no-print-directory test

docs: install  ## Build the documentation site into build/site (mkdocs build --strict: warnings fail).
	$(BIN)/mkdocs build --strict

clean:  ## Remove the virtual environments and caches.
	rm -rf $(VENV) $(UV_HOME) node_modules .mypy_cache .ruff_cache .pytest_cache
