# Everything a fresh clone needs is installed by these targets (Python venv, npm CDK CLI).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every package's version, resolved from pyproject.toml's pins by `make lock`: installs are the same everywhere.
CONSTRAINTS := constraints.txt
PIP_TOOLS   := pip-tools==7.6.2
# Re-install when the pinned dependencies or the lock change.
PY_STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | sha1sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
export PYTHONDONTWRITEBYTECODE := 1
# The browser tests drive the system Chromium (/usr/bin/chromium): Playwright must never fetch a browser build.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help run demo test lint format typecheck synth bench lock install clean

help:                            ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):[^#]*## /\1\t/' | awk -F'\t' '{ printf "  make %-10s %s\n", $$1, $$2 }'

run: $(PY_STAMP)                 ## the pipeline on localhost (API :3000, AWS endpoint :4566), demo, Ctrl-C to stop
	$(BIN)/python -m infra.local $(ARGS)

demo: $(PY_STAMP)                ## play the demo and exit: 0 only if every step happened
	$(BIN)/python -m infra.local --demo-only $(ARGS)

test: lint typecheck $(NODE_STAMP) ## lint, types, then the test suite (ARGS: pytest's; npm: the CDK CLI, Adaptive Cards' renderer)
	$(BIN)/python -m pytest $(ARGS)

lint: $(PY_STAMP)                ## ruff: the lint rules and the formatting (pyproject.toml's [tool.ruff])
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(PY_STAMP)              ## ruff: apply the lint rules' safe fixes (imports sorted, ...), then format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(PY_STAMP)           ## mypy --strict on the firebell package and functions/ (pyproject.toml's [tool.mypy])
	$(BIN)/mypy

synth: $(PY_STAMP) $(NODE_STAMP) ## CloudFormation template into cdk.out/ (no Docker, no AWS credentials); deploying: docs/deploy.md
	@$(BIN)/python -m infra.cdk.toolchain node
	npx --no-install cdk synth --quiet $(ARGS)
	@$(BIN)/python -m infra.cdk.toolchain templates

bench: export FIREBELL_BENCH_SAVE = $(SAVE)
bench: $(PY_STAMP)               ## benchmarks (~25 min); results in bench/results/local/, or the tracked bench/results/ with SAVE=1
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.layer_bytecode
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.state_transitions
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.writes
	$(BIN)/python -m bench.storm
	$(BIN)/python -m bench.faults
	$(BIN)/python -m bench.import_scale

install: $(PY_STAMP) $(NODE_STAMP) ## .venv at the locked versions, and node_modules

lock:                            ## constraints.txt again from pyproject.toml's pins (ARGS=--upgrade: newest of the rest)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file $(CONSTRAINTS) $(ARGS) pyproject.toml

$(PY_STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --constraint $(CONSTRAINTS) -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-* && touch $@

clean:                           ## remove .venv, node_modules and what builds and tests leave
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache build
