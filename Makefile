# The two commands of the README: `make run` and `make test`. Both set up everything they
# need from nothing (Debian packages, virtualenvs, the local cloud) and reuse what exists.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
CLOUD := $(PYTHON) -m evac_dashboard.localcloud
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST := $(VPY) -m pytest

.PHONY: help system venv cloud cloud-down cloud-status cloud-reset run migrate test unit mysql integration \
        clean lint

help:
	@echo "make run    - set up everything and run the dashboard on the local cloud"
	@echo "make test   - set up everything and run all tests"
	@echo "make unit   - tests that need no cloud (unit, browser with mocked Nova, packaging)"

system:
	@bash tools/system-packages.sh

$(VENV)/.installed: setup.py
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

venv: $(VENV)/.installed

cloud: system
	$(CLOUD) up
	$(CLOUD) seed

cloud-down:
	$(CLOUD) down

cloud-status:
	$(CLOUD) status

cloud-reset:
	$(CLOUD) reset

migrate: venv
	$(VPY) manage.py migrate --noinput -v 0

run: system venv cloud migrate compilemessages
	@$(VPY) tools/print_access.py --url http://$(HOST):$(PORT)/
	$(VPY) manage.py runserver --noreload $(HOST):$(PORT)

# The layer rules (import-linter contracts in .importlinter), module sizes, no package cycle.
lint: venv
	$(VENV)/bin/lint-imports
	$(VPY) tools/check_layout.py

unit: system venv
	$(PYTEST) -m "not integration" tests

# The plugin's own records on MariaDB too (several Horizon nodes sharing one database).
mysql: system venv cloud
	env $$($(PYTHON) tools/mysql_test_env.py) $(PYTEST) -m "not integration and not browser" \
	    tests/unit/store/test_batches.py tests/unit/operations/test_submission.py tests/unit/api/test_actions.py

integration: system venv cloud mysql
	$(PYTEST) -m integration tests

test: lint unit integration deploy-test

clean:
	-$(CLOUD) down
	rm -rf $(VENV) .run .artifacts

# The production shape (stock Horizon under two Apache mod_wsgi nodes, haproxy, memcached,
# MariaDB) built on this machine and driven through haproxy: see tools/deploy/ and README's
# "Deploying". deploy-down stops it.
.PHONY: deploy-test deploy-down
deploy-test: system venv cloud
	bash tools/deploy/system-packages.sh
	$(PYTHON) tools/deploy/stack.py up
	$(VPY) tools/deploy/scenarios.py $(DEPLOY_ARGS)

deploy-down:
	$(PYTHON) tools/deploy/stack.py down

# Evacuation benchmark on the local cloud (~75 min at the defaults; see docs/benchmark.md).
# BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--plan observers" (~50 min: the
# panel unwatched vs watched) or BENCH_ARGS="--plan methods --servers 30".
.PHONY: bench
bench: system venv cloud
	$(VPY) tools/bench_evacuate.py $(BENCH_ARGS)

# The progress page's poll sizes, server time and browser update time at 10-1000 instances
# (fake Nova, no cloud needed; see docs/benchmark.md).
.PHONY: bench-page
bench-page: system venv
	$(VPY) tools/bench_progress_page.py $(BENCH_ARGS)

# Translation catalogs (evac_dashboard/locale/{zh_Hans,vi}/LC_MESSAGES/{django,djangojs}.po):
# messages runs Django's makemessages from the repository root, so templates/ and static/ are
# scanned too (tools/catalogs.py: languages, ignored folders, headers); compilemessages makes
# the .mo files with Babel, as the wheel build does (no msgfmt needed).
.PHONY: messages compilemessages
messages: system venv
	$(VPY) tools/catalogs.py extract

compilemessages: venv
	$(VPY) tools/catalogs.py compile
