# PointsOps — the commands the README names. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Python 3.11 (pyproject: >=3.11,<3.12): prefer the versioned binary when both exist.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
CHROMIUM ?= /usr/bin/chromium
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pointsops
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_WORKERS ?= 2

.PHONY: setup run test lint format chromium check-services clean bench

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "PointsOps needs Python 3.11; $(PYTHON) is $$($(PYTHON) -V). Try: make PYTHON=python3.11 …"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json
	@command -v npm >/dev/null || { echo "The front-end files come from npm: install Node.js (npm) and retry."; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# The product on its embedded default: SQLite, eager tasks, demo tenant, periodic loop beside it.
run: setup
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py rundemo 127.0.0.1:8000

# The whole suite on real PostgreSQL and Redis, browser tests in Debian's Chromium,
# and the newcomer's path (seed_demo and the main API flows) on SQLite.
test: setup lint chromium check-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SECRET_KEY=test-only-secret \
	DJANGO_ALLOW_ASYNC_UNSAFE=true CHROMIUM_PATH=$(CHROMIUM) CELERY_QUEUE=test-$$$$ \
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -q $(PYTEST_ARGS)

# Chromium for the browser tests, with a CJK font so Chinese pages render (and screenshot) as text.
chromium:
	@test -x $(CHROMIUM) && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium and fonts-noto-cjk for the browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

check-services:
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) scripts/check_services.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DEBUG=1 $(PY) -m mypy .

format:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3*

# Benchmarks (not tests): each prints ratios against a raw-SQL baseline measured in the same run
# and rewrites its own section of docs/benchmarks.md. Each uses a database of its own, dropped
# and recreated, so it never touches the demo or the test databases.
BENCH_DATABASE ?= postgres://postgres@127.0.0.1:5432
bench: setup check-services
	DATABASE_URL=$(BENCH_DATABASE)/pointsops_bench $(PY) bench/coupon_generation.py --write --repeat 3
	DATABASE_URL=$(BENCH_DATABASE)/pointsops_bench_orders REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/order_ingest.py
	DATABASE_URL=$(BENCH_DATABASE)/pointsops_bench_expiry $(PY) bench/points_expiry.py
	DATABASE_URL=$(BENCH_DATABASE)/pointsops_bench_redeem REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/redeem.py
	DATABASE_URL=$(BENCH_DATABASE)/pointsops_bench_simulation $(PY) bench/simulation.py
	DATABASE_URL=$(BENCH_DATABASE)/pointsops_bench_reports $(PY) bench/reports.py
