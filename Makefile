# The two commands of the README; each one installs what is missing first (scripts/bootstrap).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: verify test setup unit e2e selftest selftest-nightly reliability repeat lint format bench bench-audit bench-verdict bench-fidelity \
	bench-scale bench-peer bench-storm bench-all test-bench clean lock wheel install-test
# `make lock`: every dependency re-resolved (within pyproject.toml's ranges) for any platform, hashed.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --upgrade --quiet --custom-compile-command "make lock"

## verify: install what is missing, verify the embedded reference stack, write reports/
verify: setup
	$(BIN)/realtime-verify run $(ARGS)

## test: install what is missing, then lint, unit tests, the stack's tests, the e2e suite, the foreign
## apps, the self-tests against every fault, the reports and the wheel (29.3 and 31.8 min in two fresh-clone
## runs on 2 cores, 2026-11-29: at the 30-min target, not reliably under it; the slowest items are listed)
# Two workers (this is a 2-core machine): loadscope keeps a module's shared stack on one worker. The
# self-tests and foreign apps start a stack and a browser per test, and one module holds all 31
# faults: worksteal spreads them over both workers (loadscope ran them all on one: 37 min; two
# workers: 24-26 min). Three workers were tried: SW-001 and RT-005 then failed healthy runs. The slowest
# items are listed (--durations) so a CI log shows where the time goes.
PYTEST_PAR := $(BIN)/python -m pytest -n 2 --dist loadscope
PYTEST_EACH := $(BIN)/python -m pytest -n 2 --dist worksteal --durations=12
test: setup lint
	$(PYTEST_PAR) tests/unit tests/reference_app tests/integration
	$(BIN)/realtime-verify run --output reports/test-e2e
	$(PYTEST_EACH) tests/adapter tests/selftest
	$(PYTEST_PAR) tests/reporting tests/install

## reliability: the bad-input corpus (84 hostile inputs, targets and interruptions; ~4 min on 2 workers)
reliability: setup
	$(PYTEST_PAR) tests/reliability

setup:
	@scripts/bootstrap

## repeat: signoff 20 times against the healthy stack, the other core busy; lists every failure (~33 min)
repeat: setup
	$(BIN)/python scripts/repeat_runs.py --runs $(or $(RUNS),20) --max-minutes 90 $(ARGS)

## selftest-nightly: every fault against the nightly profile with production timers (hours, not in `make test`)
selftest-nightly: setup
	RV_SELFTEST_RUN_ARGS="--profile nightly --production-timers" $(BIN)/python -m pytest tests/selftest/test_faults.py

## lock: update requirements-dev.lock (what `setup` installs) and requirements.lock (the tool alone)
lock: setup
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml -c requirements-dev.lock $(LOCK_FLAGS) -o requirements.lock

## wheel: the installable tool, suite and socket.io client included, in dist/
wheel: setup
	RV_REQUIRE_BROWSER_CLIENT=1 $(BIN)/python -m build --wheel --outdir dist .

## install-test: build the wheel, install it in a fresh venv outside the repository, run the smoke profile
install-test: setup
	$(BIN)/python -m pytest tests/install/test_wheel.py

unit: setup
	$(BIN)/python -m pytest tests/unit tests/reference_app

selftest: setup
	$(BIN)/python -m pytest tests/selftest

lint: setup
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

## bench: one latency run (reports/bench/latency.json); bench-all: every figure of bench/RESULTS.md (~1 h)
bench: setup
	$(BIN)/python bench/latency.py $(ARGS)

bench-audit: setup
	$(BIN)/python bench/audit.py $(ARGS)

bench-verdict: setup
	$(BIN)/python bench/verdict.py $(ARGS)

bench-fidelity: setup
	$(BIN)/python bench/fidelity.py $(ARGS)

bench-scale: setup
	$(BIN)/python bench/scale.py $(ARGS)

## bench-peer: Artillery against the same workload; bench-storm: Locust, one master and two workers
bench-peer: setup
	$(BIN)/python bench/peer.py --install $(ARGS)

bench-storm: setup
	$(BIN)/python bench/storm.py --install $(ARGS)

bench-all: setup
	$(BIN)/python bench/all.py --install $(ARGS)

test-bench: setup
	$(BIN)/python -m pytest tests/bench

clean:
	rm -rf reports build dist .pytest_cache .mypy_cache .ruff_cache
