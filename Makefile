# Two commands for a newcomer: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# Every package in the monorepo is a directory with its own pyproject.toml.
PKGS := $(patsubst %/pyproject.toml,%,$(wildcard */pyproject.toml))
PYTEST_ARGS ?=

.PHONY: install test lint demo bench sandbox clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

# Re-install only when a package's metadata or the dev requirements change.
$(VENV)/.installed: $(UV) requirements-dev.txt $(addsuffix /pyproject.toml,$(PKGS))
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.txt \
		$(foreach p,$(PKGS),-e "./$(p)[test]")
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

sandbox: install
	$(BIN)/sandbox serve

demo: install
	$(BIN)/python scripts/demo.py

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .meltano output .demo
