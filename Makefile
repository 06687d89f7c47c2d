# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what they need.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The NL Design System's CSS and Chart.js, from npm (package.json), copied into static/vendor/.
ASSETS := static/vendor/.built
# Every target here runs the embedded setup; the settings default to DEBUG off, as production needs.
export DEBUG ?= 1

.PHONY: run test lint benchmark worker beat screenshots mutation

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	touch $(ASSETS)

# Listens on 127.0.0.1 only: the demo users share a published password. HOST=0.0.0.0 opens it up; HOST and PORT
# may also come from .env, which the settings read as well.
run: $(STAMP) $(ASSETS)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	set -a; [ ! -f .env ] || . ./.env; set +a; $(PY) manage.py runserver "$${HOST:-127.0.0.1}:$${PORT:-8000}"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# One test process per core; TEST_PROCESSES=0 runs the suite in this process alone (docs/testing.md, "Speed").
TEST_PROCESSES ?= auto

test: lint $(ASSETS)
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

benchmark: $(STAMP) $(ASSETS)
	$(PY) -m benchmarks

# Mutation testing of the rules that decide money and access, on SQLite (docs/testing.md): a periodic check of
# hours, not part of `make test`. MUTANTS="allocation.engine*" runs a part; results are kept in mutants/ and
# reused, and the report with every surviving mutant is written to docs/mutation-report.txt.
mutation: $(STAMP)
	set -f; env -u DATABASE_URL REDIS_URL= HYPOTHESIS_PROFILE=mutation $(VENV)/bin/mutmut run --max-children 2 $(MUTANTS)
	$(PY) -m tests.mutation_report docs/mutation-report.txt

# The main pages at 1280 px into docs/screenshots/, taken by the browser journeys (docs/testing.md).
screenshots: $(STAMP) $(ASSETS)
	$(PY) -m tests.browser.screenshots

worker: $(STAMP)
	$(VENV)/bin/celery -A config worker --loglevel=info

beat: $(STAMP)
	$(VENV)/bin/celery -A config beat --loglevel=info
