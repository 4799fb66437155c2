# Two commands for a new user: `make demo` and `make test`. Each builds .venv on first use
# (Python 3.11+ from $(PYTHON)) and reuses it afterwards; pyproject.toml changes trigger a reinstall.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-browser lint city lab notebooks clean-venv

VIZ_STAMP := $(VENV)/.installed-viz
LAB_STAMP := $(VENV)/.installed-lab

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "predgov needs Python 3.11 or newer; run make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The reactive demo, then a small heating_prep comparison (history hotspot vs random vs oracle,
# 1/200 of the city, 3 seeds, 2 budgets: about 20 s) in a second run directory.
demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/predgov
	MPLBACKEND=Agg $(BIN)/predgov +experiment=heating_prep sim.scale=0.005 'sim.seeds=[0,1,2]' \
		'sim.budgets=[250000.0,500000.0]'

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest

# The slow tier: tests marked `slow` (e.g. the 2,000-input ingest fuzz run); not part of `make test`.
test-slow: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

$(VIZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[viz]"
	touch $(VIZ_STAMP)

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[lab]"
	touch $(LAB_STAMP)

# The interactive city (Mesa SolaraViz) on http://localhost:8765 (Ctrl-C stops it).
# Open it mid-season: make city CITY_ARGS="--start-at 2026-01-15"
city: $(VIZ_STAMP)
	$(BIN)/predgov-city $(CITY_ARGS)

# JupyterLab on notebooks/ with the project's .venv as the kernel (Ctrl-C stops it).
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

# The interactive city in headless Chromium (slow tier): installs Debian's chromium with apt
# when it is missing (needs root), then serves the app, loads it and takes a screenshot.
test-browser: $(VIZ_STAMP)
	command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }
	$(BIN)/python -m pip install --quiet -e ".[browser]"
	MPLBACKEND=Agg $(BIN)/python -m pytest -m slow tests/viz/test_city_app.py

# Rebuild and execute the notebooks, writing their outputs (commit them): make notebooks NB="02 05"
notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py $(NB)

clean-venv:
	rm -rf $(VENV)
