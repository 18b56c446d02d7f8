# Expert Platform. Two commands set everything up: `make run` and `make test`; `make serve` is production.
# Each target creates .venv when it is missing and reinstalls only when a requirements file changes.

SHELL := /bin/bash
PYTHON ?= $(shell for candidate in python3.13 python3.12 python3.11 python3; do \
	command -v $$candidate >/dev/null 2>&1 && $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$candidate; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
POSTGRES_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# The suite runs on this many processes (pytest-xdist; auto: one per core), each on a database (SQLite file or
# PostgreSQL schema) of its own; each test file stays on one process. PYTEST_WORKERS=0: in make's own process.
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile
BENCH_ARGS ?=

CATALOGUES := expert_platform/translations

.PHONY: run serve test test-postgres test-browser test-api-contract screenshots bench lint translations clean help

help:
	@echo "make run            install, migrate, load demo data when the database is empty, serve on http://$(HOST):$(PORT)"
	@echo "make serve          install, migrate, sync the search index, serve with gunicorn on 127.0.0.1:8000 (production settings)"
	@echo "make test           install the test tools and run the whole suite on SQLite"
	@echo "make test-postgres  the same suite on PostgreSQL (DATABASE_URL, default $(POSTGRES_TEST_URL))"
	@echo "make test-browser   the browser suite (Playwright + Debian's chromium: apt-get install chromium)"
	@echo "make test-api-contract  Schemathesis against /api/v1/openapi.json on SQLite + Whoosh and on PostgreSQL"
	@echo "make screenshots    render the main pages to docs/screenshots/*.png with the browser"
	@echo "make bench          the search benchmark (20,000 proposals; BENCH_ARGS=\"--proposals 2000\" for a quick one)"
	@echo "make lint           ruff"
	@echo "make translations   extract the messages, update the Russian catalogue, compile it (docs/translations.md)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.11 or newer is needed (python3.11, python3.12 or python3)." >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

run: $(VENV)/.runtime-installed
	$(FLASK) db upgrade
	$(FLASK) seed-reference
	$(FLASK) seed-demo --if-empty
	$(FLASK) search sync
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production settings (EXPERT_PLATFORM_ENV=production) from the environment or .env; gunicorn.conf.py
# holds the server's settings (BIND, WEB_CONCURRENCY, GUNICORN_THREADS, ...). The configuration is checked
# first, by loading the app exactly as gunicorn's workers will, so a missing setting stops here with its name.
serve: export EXPERT_PLATFORM_ENV = production
serve: $(VENV)/.runtime-installed
	@$(BIN)/gunicorn -c gunicorn.conf.py --check-config wsgi:app || { \
	echo "" >&2; \
	echo "make serve uses production settings. Set them in the environment or in .env (docs/deployment.md):" >&2; \
	echo "  SECRET_KEY             a long random secret: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'" >&2; \
	echo "  BASE_URL               the public address, e.g. https://experts.example.org" >&2; \
	echo "  RATELIMIT_STORAGE_URI  redis://127.0.0.1:6379/0 when WEB_CONCURRENCY (default: one worker per core," >&2; \
	echo "                         at least 2) is above 1" >&2; \
	exit 1; }
	$(FLASK) db upgrade
	$(FLASK) search sync
	exec $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.dev-installed
	env -u DATABASE_URL $(BIN)/pytest --ignore=tests/browser $(PARALLEL) $(PYTEST_ARGS)

test-postgres: $(VENV)/.dev-installed
	DATABASE_URL="$${DATABASE_URL:-$(POSTGRES_TEST_URL)}" $(BIN)/pytest --ignore=tests/browser $(PARALLEL) $(PYTEST_ARGS)

# The browser suite serves the app on 127.0.0.1 with a fresh SQLite database of its own.
test-browser: $(VENV)/.dev-installed
	env -u DATABASE_URL $(BIN)/pytest tests/browser $(PYTEST_ARGS)

# Serves the app (demo data, a generated archive) on 127.0.0.1 on each backend in turn and lets Schemathesis
# hold every answer to the OpenAPI document (.ci/schemathesis; CONTRACT_BACKENDS=whoosh for SQLite alone).
test-api-contract: $(VENV)/.dev-installed
	bash .ci/schemathesis

screenshots: $(VENV)/.dev-installed
	env -u DATABASE_URL $(BIN)/python -m tests.browser.screenshots docs/screenshots

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/search_bench.py $(BENCH_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check expert_platform tests config.py wsgi.py gunicorn.conf.py migrations bench

# Extract every message of the code and the templates, update the Russian catalogue with them (new ones
# empty: tests/test_translations.py fails until each is translated) and compile it.
translations: $(VENV)/.dev-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_ngettext:1,2 -k lazy_gettext -k lazy_pgettext:1c,2 --sort-by-file \
		--ignore-dirs=".* __pycache__" \
		--project="Expert Platform" --copyright-holder="Expert Platform" -w 120 -o $(CATALOGUES)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --no-fuzzy-matching --ignore-obsolete -w 120
	$(BIN)/pybabel compile -d $(CATALOGUES) --statistics

clean:
	rm -rf $(VENV) .pytest_cache
