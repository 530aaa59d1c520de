# The two commands of the README: `make run` and `make test`. Plus `make serve` (production),
# `make bench`, `make lint`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# `make run` is a development stack: DEBUG on, the offline engine's fault markers on, and a
# fresh readiness token so its setup step can wait on /healthz/ready.
ifndef HEALTH_TOKEN
HEALTH_TOKEN := $(shell head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
endif
RUN_ENV := DEBUG=1 ENGINE_FAULTS_ENABLED=1 HEALTH_TOKEN=$(HEALTH_TOKEN)

# `make serve` is production: DEBUG forced off whatever the environment says; everything else
# comes from the operator's environment only (no .env file: the checks below would not see it).
SERVE_ENV := DEBUG=0

.PHONY: run serve test bench lint messages system-deps clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install -q -r requirements-test.txt
	touch $@

run: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo "Starting the object store, web server, worker cluster and offline engine on 127.0.0.1 ..."
	@echo "The site will be at http://127.0.0.1:8000/ (demo staff login is printed once everything is up)."
	$(RUN_ENV) exec $(VENV)/bin/honcho -f Procfile start

# Refuses to start on unsafe settings (settings.py raises) or any `check --deploy` warning, then
# migrates, collects the static files WhiteNoise serves, and runs Procfile.prod: gunicorn and
# the worker cluster (the offline engine, when ENGINE_ENABLED, lives inside both). If one of
# them exits, honcho stops the other: run it under a supervisor that restarts it.
serve: $(VENV)/.installed
	$(SERVE_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	$(SERVE_ENV) $(PY) manage.py migrate --noinput
	$(SERVE_ENV) $(PY) manage.py collectstatic --noinput
	$(SERVE_ENV) exec $(VENV)/bin/honcho --env /dev/null -f Procfile.prod start

# Browser tests drive Debian's chromium (Playwright never downloads a browser here); the label
# tests read our XMP back with Debian's exiftool (libimage-exiftool-perl).
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v vipsthumbnail >/dev/null || ! command -v exiftool >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium libvips-tools libimage-exiftool-perl >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium libvips-tools libimage-exiftool-perl >/dev/null; fi; \
	fi

test: $(VENV)/.installed-test system-deps
	$(PY) -m pytest

bench: $(VENV)/.installed-test system-deps
	$(PY) bench/run_all.py

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Re-extract and compile the translation catalogues (needs GNU gettext).
messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=var --ignore=tests
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/test artifacts
