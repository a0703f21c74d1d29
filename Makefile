# The two commands of the README. Both do all set-up first (idempotent; see tools/setup.sh).
.PHONY: setup demo test lint typecheck bench

PY := .venv/bin/python

setup:
	@bash tools/setup.sh

demo: setup
	@bash tools/demo.sh

test: setup
	@$(PY) -m pytest -q

lint: setup
	@$(PY) -m ruff check archspec tests tools
	@$(PY) -m ruff format --check archspec tests tools

typecheck: setup
	@$(PY) -m mypy archspec
