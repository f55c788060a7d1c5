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

install: $(STAMP) translations assets

# Front-end libraries come from npm (package-lock.json) and are never committed: `npm ci` runs
# when node_modules is missing or package-lock.json changed; their prebuilt dist files are copied
# into web/static/vendor/ (gitignored), served as /static/vendor/...
NPM_STAMP    := node_modules/.npm-ci-stamp
VENDOR       := web/static/vendor
VENDOR_STAMP := $(VENDOR)/.copied-stamp
BPMN_DIST    := node_modules/bpmn-js/dist

.PHONY: assets

assets: $(VENDOR_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

$(VENDOR_STAMP): $(NPM_STAMP)
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/echarts $(VENDOR)/camunda-bpmn-moddle
	cp $(BPMN_DIST)/bpmn-navigated-viewer.production.min.js $(BPMN_DIST)/bpmn-modeler.production.min.js $(VENDOR)/bpmn-js/
	cp -R $(BPMN_DIST)/assets $(VENDOR)/bpmn-js/assets
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	cp node_modules/camunda-bpmn-moddle/resources/camunda.json $(VENDOR)/camunda-bpmn-moddle/
	touch $(VENDOR_STAMP)

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d web/translations

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

# Benchmarks: one table on stdout, the same as JSON in bench/results/latest.json (see bench/run.py).
# BENCH_QUICK=1 runs a much smaller version.
bench: install
	$(PY) -m bench.run

# The supervisor's desk at 100,000 cases and ~500,000 steps (bench/stats_bench.py), on SQLite and a
# throwaway PostgreSQL, with and without the indexes it recommends; seeds its SQLite file on first run.
.PHONY: bench-stats
bench-stats: install
	$(PY) -m bench.stats_bench
