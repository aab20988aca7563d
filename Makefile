# The two commands of the README: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Branch coverage of src/examvault that `make test` holds (docs/architecture.md, "Gates").
COVERAGE_FLOOR := 90

.PHONY: demo test lint bench setup browser nginx wrk

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Set up and run the server with the demo exam on SQLite.
demo: $(STAMP)
	$(BIN)/examvault serve --demo

## Debian's Chromium for the page tests (never a browser downloaded by a test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

## Debian's nginx for the test of the shipped site file (tests/acceptance/test_behind_nginx.py).
nginx:
	@command -v nginx >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null)

## Debian's wrk for bench/ceiling.py and its test (tests/acceptance/test_ceiling.py).
wrk:
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)

## Set up and run every test (SQLite and the PostgreSQL at 127.0.0.1:5432).
test: $(STAMP) browser nginx wrk
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q --cov --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
