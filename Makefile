# Two commands an analyst needs: `make demo` and `make test`.
# Both create .venv with Python >= 3.12 when it is missing and install the project.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The first interpreter that is Python >= 3.12 (the pyenv shim for python3.12 may exist but refuse to run).
PYTHON ?= $(shell for p in python3.12 python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.12 /usr/local/bin/python3.12; do \
	  $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 && { echo $$p; break; }; done)
DEMO_OUT ?= results/demo

.PHONY: venv demo test lint provision clean

$(BIN)/sim: pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python >= 3.12 found (tried python3.12, python3.13, pyenv versions)"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(BIN)/sim

venv: $(BIN)/sim

demo: venv
	$(BIN)/sim validate scenarios/*.yaml
	$(BIN)/sim map scenarios/base.yaml --out $(DEMO_OUT)/map_2025-11-11.png
	$(BIN)/sim map scenarios/hindcast_2025.yaml --out $(DEMO_OUT)/map_2025-01-14.png
	$(BIN)/sim compare scenarios/hold_pokrovsk.yaml scenarios/withdraw_kramatorsk_sloviansk.yaml \
	  scenarios/reinforce_from_kursk.yaml scenarios/kursk_pressure.yaml \
	  --posterior scenarios/posterior_tempo.yaml \
	  --runs 60 --seed 1 --workers 2 --out $(DEMO_OUT)/compare --force
	@echo "maps in $(DEMO_OUT)/; the comparison report is $(DEMO_OUT)/compare/report.md"

# ruff (pyflakes and friends) and import-linter (the floors of the house, .importlinter)
lint: venv
	$(BIN)/ruff check sim tests
	$(BIN)/lint-imports

# What the tests need beyond .venv: a Chromium for the browser test. Installs Debian's `chromium`
# with apt-get when it is missing and the user is root; otherwise one line says what to install.
# CHROMIUM=/path/to/chromium uses that browser instead (.ci/provision).
provision:
	@.ci/provision

test: lint provision
	$(BIN)/python -m pytest -n 2

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
