# One command runs every check: `make check`.
PY ?= $(if $(VIRTUAL_ENV),python,.venv/bin/python)

.PHONY: check lint test bench fmt

check: lint test

lint:
	$(PY) -m ruff check post001 tests benchmarks migrations
	$(PY) -m mypy
	$(PY) -m mypy benchmarks
	$(dir $(shell command -v $(PY)))lint-imports

test:
	$(PY) -m pytest -n 4

bench:
	$(PY) benchmarks/bench_store.py
	$(PY) benchmarks/bench_tui.py
	$(PY) benchmarks/bench_server.py
	$(PY) benchmarks/bench_journal.py
	$(PY) benchmarks/bench_listing.py
	$(PY) benchmarks/bench_cli.py

fmt:
	$(PY) -m ruff check --fix post001 tests benchmarks migrations
