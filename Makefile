# detente: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check --no-input -q

.PHONY: demo test lint typecheck unit bench docs clean help

help:
	@echo "make demo   set up .venv, install detente, run the Hanoi 2019 analysis"
	@echo "make test   lint, type checks, import contracts and the whole test suite"
	@echo "make bench  run the benchmarks (figures in docs/performance.md)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev]"
	@touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/detente cases
	$(BIN)/detente validate hanoi-2019
	$(BIN)/detente show hanoi-2019
	$(BIN)/detente check hanoi-2019 --schedule us-big-deal
	$(BIN)/detente check hanoi-2019 --schedule dprk-offer
	$(BIN)/detente check hanoi-2019 --schedule phased --leverage --tipping

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2

test: lint typecheck unit

bench: $(VENV)/.installed-dev
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info
