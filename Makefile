# The two commands of the README; each one installs what is missing first (scripts/bootstrap).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: verify test setup unit e2e selftest lint format bench clean

## verify: install what is missing, verify the embedded reference stack, write reports/
verify: setup
	$(BIN)/realtime-verify run $(ARGS)

## test: install what is missing, then lint, unit tests, the stack's tests, the e2e suite, the foreign
## apps, the self-tests
test: setup lint
	$(BIN)/python -m pytest tests/unit tests/reference_app tests/integration
	$(BIN)/realtime-verify run --output reports/test-e2e
	$(BIN)/python -m pytest tests/adapter tests/selftest

setup:
	@scripts/bootstrap

unit: setup
	$(BIN)/python -m pytest tests/unit tests/reference_app

selftest: setup
	$(BIN)/python -m pytest tests/selftest

lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

bench: setup
	$(BIN)/python bench/latency.py $(ARGS)

clean:
	rm -rf reports .pytest_cache .mypy_cache .ruff_cache
