# Two commands on a fresh machine: `make run` and `make test` (see README.md).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export FLASK_APP := web.app:create_app

.PHONY: install translations db run test test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(VENV)/bin/pybabel compile --use-fuzzy -d web/translations

db: install
	$(VENV)/bin/alembic upgrade head
	$(VENV)/bin/flask deploy
	$(VENV)/bin/flask seed-demo

run: db
	@echo "Serving on http://127.0.0.1:5000"
	$(VENV)/bin/flask run --host 127.0.0.1 --port 5000

# The whole suite, once on SQLite and once on a throwaway PostgreSQL cluster.
test: install
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite:
	TEST_DATABASE=sqlite $(PY) -m pytest -q

test-postgres:
	TEST_DATABASE=postgres $(PY) -m pytest -q

clean:
	rm -rf $(VENV) instance .pytest_cache
