# WaitLess: `make run` starts the whole service with embedded defaults; `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3

.PHONY: run test lint install install-test clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(VENV)/bin/waitless dev $(ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

test:
	./scripts/test.sh

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache
