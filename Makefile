# Two commands for a newcomer (see README):  make run   ·   make test
# Both create the virtualenv in .venv and install what they need on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB   ?= .demo/demo.db
# Demo database only: synthetic data, passphrase printed on purpose so anyone can open it.
DEMO_PASS ?= demo-case-workstation

.PHONY: run test test-fast reliability clean-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@mkdir -p $(dir $(DEMO_DB))
	@test -f $(DEMO_DB) || (echo "Creating the demo case database $(DEMO_DB) ..." && \
	  printf '%s\n' '$(DEMO_PASS)' | $(BIN)/workstation --db $(DEMO_DB) --passphrase-stdin demo)
	@echo ""
	@echo "  Demo database: $(DEMO_DB)"
	@echo "  Passphrase:    $(DEMO_PASS)"
	@echo ""
	$(BIN)/workstation --db $(DEMO_DB)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -x -m "not slow"

# Long fault, tamper, fuzz and leak runs; prints the table of figures (README "Reliability").
reliability: $(STAMP)
	$(BIN)/python scripts/reliability.py

clean-demo:
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
