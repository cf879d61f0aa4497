# mch-link: `make run` serves the demo at http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages: the CJK font embedded in PDFs, poppler (pdffonts/pdftotext) and Chromium
# for the browser tests.
DEB_PACKAGES := fonts-wqy-microhei poppler-utils chromium

.PHONY: run test venv system-deps migrate demo lint clean

# DEBUG is off unless set (docs/security.md); the demo targets turn it on, which also lets the
# development SECRET_KEY through. Static files come from whitenoise either way.
migrate demo run: export DEBUG ?= 1

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py generate_schedule --year $$(date +%Y)
	$(PY) manage.py generate_schedule --year $$(( $$(date +%Y) + 1 ))
	$(PY) manage.py seed_demo_records

run: system-deps demo
	$(PY) manage.py setup_jobs
	@echo "Serving on http://$(HOST):$(PORT) with the task worker; Ctrl-C stops both."
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

test: system-deps venv
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
