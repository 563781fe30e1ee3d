# Git44 — one command to run, one to test.  `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := libs/git44_common libs/git44_sim libs/git44_ctl services/auth services/jobs_api services/worker services/key_manager
STAMP := $(VENV)/.installed
CLIENTS := docs/clients/typescript
CLIENTS_STAMP := $(CLIENTS)/node_modules/.installed
PYTEST_ARGS ?=

.PHONY: help venv clients clients-lock contract system-packages run test test-unit lint format bench chaos soak lock clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock $(addsuffix /pyproject.toml,$(PACKAGES))
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Git44 needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		$(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

venv: $(STAMP)  ## create .venv with the hash-pinned dependencies and the seven packages

$(CLIENTS_STAMP): $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

clients: $(CLIENTS_STAMP)  ## the pinned TypeScript generator of the public contract (npm ci)

clients-lock:  ## re-resolve docs/clients/typescript's lockfile, without hosts or URLs
	cd $(CLIENTS) && npm install --package-lock-only --ignore-scripts --no-audit --no-fund
	$(PYTHON) -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); [v.pop("funding",None) for v in d["packages"].values()]; open(p,"w").write(json.dumps(d,indent=2)+"\n")' $(CLIENTS)/package-lock.json

contract: $(STAMP) $(CLIENTS_STAMP)  ## rewrite the public OpenAPI document and its TypeScript types
	$(BIN)/python -m tools.public_api

system-packages:  ## Debian's nginx, promtool, amtool, Node.js, Chromium and haproxy for the gateway, deployment, contract, browser and cluster chaos tests (root)
	.ci/install-system-packages.sh

run: $(STAMP)  ## run everything locally: SecantusDB, RabbitMQ check, simulator, four services
	deploy/local/ensure-rabbitmq.sh
	$(BIN)/python deploy/local/run.py

test: $(STAMP) $(CLIENTS_STAMP)  ## the whole suite against real RabbitMQ and a MongoDB-wire server
	deploy/local/ensure-rabbitmq.sh
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: $(STAMP)  ## unit tests only (no infrastructure)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/git44_common/git44_common libs/git44_sim/git44_sim services/auth/git44_auth \
		services/jobs_api/git44_jobs services/worker/git44_worker services/key_manager/git44_keys \
		libs/git44_ctl/git44_ctl tools

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)  ## benchmarks in tests/bench (print figures, write bench-results/*.json)
	deploy/local/ensure-rabbitmq.sh
	$(BIN)/python -m tests.bench

chaos: $(STAMP)  ## fault-injection scenarios in tests/chaos
	deploy/local/ensure-rabbitmq.sh
	$(BIN)/pytest tests/chaos -p no:cacheprovider $(PYTEST_ARGS)

SOAK_MINUTES ?= 60
soak: $(STAMP)  ## SOAK_MINUTES (60) of mixed load and random faults, then the audit (bench-results/soak/)
	deploy/local/ensure-rabbitmq.sh
	SOAK_MINUTES=$(SOAK_MINUTES) $(BIN)/python -m tests.soak

lock: $(STAMP)  ## re-resolve requirements.in into the hash-pinned requirements.lock
	$(BIN)/uv pip compile requirements.in --generate-hashes --python-version 3.11 --no-header \
		--no-emit-package git44-common --no-emit-package git44-sim --no-emit-package git44-auth \
		--no-emit-package git44-jobs --no-emit-package git44-worker --no-emit-package git44-keys \
		--no-emit-package git44-ctl -o requirements.lock
	deploy/lock.sh

clean:  ## remove the venv, local run data and caches
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache bench-results $(CLIENTS)/node_modules
