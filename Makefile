# WaitLess: `make run` starts the whole service with embedded defaults; `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3

.PHONY: run test lint install install-test lock clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

# The compiled ranking loop (setup.py): editing it rebuilds the project install.
CORE_SOURCES := setup.py routing/_estimate.pyx $(wildcard waitless/ranking/_fastcore*.pyx waitless/ranking/_fastcore*.pxi)

# Exact versions from the lock files (requirements/*.lock, made by `make lock`); the project
# itself is installed without resolving anything again.
$(VENV)/.installed: pyproject.toml requirements/run.lock $(CORE_SOURCES) | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements/run.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements/test.lock $(CORE_SOURCES) | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements/test.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(VENV)/bin/waitless dev $(ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

test:
	./scripts/test.sh

# Re-resolve the lock files after changing dependencies in pyproject.toml (needs PyPI).
lock: | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements/run.lock pyproject.toml
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra test -o requirements/test.lock pyproject.toml

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache
