# mch-link: `make run` serves the demo at http://127.0.0.1:8000, `make test` runs every test,
# `make serve` runs the production profile (docs/deploy.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages: the CJK font embedded in PDFs, poppler (pdffonts/pdftotext) and Chromium
# for the browser tests; postgresql-client for `manage.py backup`/`restore` on PostgreSQL.
DEB_PACKAGES := fonts-wqy-microhei poppler-utils chromium postgresql-client
# The production profile: web processes (gunicorn) and django-q workers per cluster process.
WEB_WORKERS ?= 4
Q_WORKERS ?= 2

# axe-core for the browser suite's accessibility audit (tests/e2e/test_accessibility.py),
# pinned, from the npm registry into .axe/ (outside the served files, not committed).
AXE_VERSION := 4.14.1
AXE_JS := .axe/node_modules/axe-core/axe.min.js

.PHONY: run reset-demo serve test venv system-deps migrate demo lint clean axe

# DEBUG is off unless set (docs/security.md); the demo targets turn it on, which also lets the
# development SECRET_KEY through. Static files come from whitenoise either way.
migrate demo run reset-demo: export DEBUG ?= 1
# Feed links and QR codes follow the address served (settings.SITE_URL, unless set).
run: export HOST := $(HOST)
run: export PORT := $(PORT)
# The development-key warning: printed once here, not by each of the processes below.
ifeq ($(SECRET_KEY),)
migrate demo run reset-demo: export SECRET_KEY_WARNED := 1
DEV_KEY_NOTE = @echo "warning: SECRET_KEY is not set: using the development default (demo only)."
endif
# What the demo runs after the registry: this year's and next year's plan, past records.
define DEMO_AFTER_SEED
	$(PY) manage.py generate_schedule --year $$(date +%Y)
	$(PY) manage.py generate_schedule --year $$(( $$(date +%Y) + 1 ))
	$(PY) manage.py seed_demo_records
endef

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(AXE_JS): Makefile
	@command -v npm >/dev/null || { echo "Installing Debian's npm (for axe-core, the accessibility test)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	npm install --prefix .axe --no-save --no-audit --no-fund axe-core@$(AXE_VERSION)
	test -f $@ && touch $@

axe: $(AXE_JS)

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

migrate: venv
	$(DEV_KEY_NOTE)
	$(PY) manage.py migrate --noinput

# Seeds only what is missing: a second run after imports, contracts and records just serves.
demo: migrate
	$(PY) manage.py seed_demo
	$(DEMO_AFTER_SEED)

# Starts over on purpose: every row goes (users' work included), then the demo is built again.
reset-demo: migrate
	$(PY) manage.py seed_demo --reset
	$(DEMO_AFTER_SEED)

# The runner (mch_link/procrun.py) gives each process its own session: Ctrl-C reaches the
# runner only, which stops web and worker in order within a few seconds.
run: system-deps demo
	$(PY) manage.py setup_jobs
	@echo "Serving on http://$(HOST):$(PORT) with the task worker; Ctrl-C stops both."
	@$(PY) -m mch_link.procrun worker="$(PY) manage.py qcluster" \
	  web="$(PY) manage.py runserver --noreload $(HOST):$(PORT)"

# The production profile (docs/deploy.md): settings from the environment (SECRET_KEY,
# DATABASE_URL, REDIS_URL, ALLOWED_HOSTS ...), then the Procfile's processes.
serve: venv
	$(PY) manage.py check --deploy --fail-level ERROR
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py setup_jobs
	PY=$(PY) WEB_WORKERS=$(WEB_WORKERS) Q_WORKERS=$(Q_WORKERS) $(PY) -m mch_link.procrun Procfile

test: system-deps venv axe
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .axe
