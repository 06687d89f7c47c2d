# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what they need.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Every target here runs the embedded setup; the settings default to DEBUG off, as production needs.
export DEBUG ?= 1

.PHONY: run test lint benchmark worker beat

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Listens on 127.0.0.1 only: the demo users share a published password. HOST=0.0.0.0 opens it up; HOST and PORT
# may also come from .env, which the settings read as well.
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	set -a; [ ! -f .env ] || . ./.env; set +a; $(PY) manage.py runserver "$${HOST:-127.0.0.1}:$${PORT:-8000}"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

benchmark: $(STAMP)
	$(PY) -m benchmarks

worker: $(STAMP)
	$(VENV)/bin/celery -A config worker --loglevel=info

beat: $(STAMP)
	$(VENV)/bin/celery -A config beat --loglevel=info
