# The two commands: `make run` (set up and serve on SQLite) and `make test` (set up and pass the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The main suite runs on both cores; each worker gets its own PostgreSQL database and Redis channel.
TEST_WORKERS ?= 2

.PHONY: run check test test-fast test-browser test-deps messages screenshots bench bench-quick bench-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	rm -f $(VENV)/.installed-*
	touch $@

# After marking strings: extract them, add the new ones to every language's .po (to translate),
# and compile the .mo files the app reads. The .mo files are built, never committed. PYTHONPATH:
# the catalogs of this checkout, whichever checkout the virtualenv's editable install points at.
messages: $(STAMP)
	PYTHONPATH=src $(BIN)/python -m innovate.i18n update
	PYTHONPATH=src $(BIN)/python -m innovate.i18n compile

run: $(STAMP)
	PYTHONPATH=src $(BIN)/python -m innovate.i18n compile >/dev/null
	$(BIN)/innovate serve

test-deps: $(STAMP)
	scripts/install-test-deps
	PYTHONPATH=src $(BIN)/python -m innovate.i18n compile >/dev/null

# Lint, types and the import contracts (configured in pyproject.toml). Each runs even when
# an earlier one failed, so one run shows every problem; any failure fails the target.
check: $(STAMP)
	@status=0; \
	echo "ruff check"; $(BIN)/ruff check . || status=1; \
	echo "mypy"; $(BIN)/mypy || status=1; \
	echo "lint-imports"; $(BIN)/lint-imports || status=1; \
	exit $$status

test: check test-deps
	$(BIN)/pytest -m "not browser" -n $(TEST_WORKERS)
	$(BIN)/pytest -m browser tests/browser

test-fast: $(STAMP)
	$(BIN)/pytest -m "not browser" -x

test-browser: test-deps
	$(BIN)/pytest -m browser tests/browser

# The README's screenshots: the browser tests write them; this keeps the current ones.
screenshots:
	@ls tests/browser/screenshots/*.png >/dev/null 2>&1 || { echo "no screenshots yet: run make test-browser first" >&2; exit 1; }
	mkdir -p docs/screenshots
	cp tests/browser/screenshots/*.png docs/screenshots/

# The Node.js reference server's package (ws), from its lock file.
bench-deps:
	cd bench/servers/node && npm ci --no-audit --no-fund --loglevel=error

bench: $(STAMP) bench-deps
	$(BIN)/python -m bench.run

bench-quick: $(STAMP) bench-deps
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) data .pytest_cache
