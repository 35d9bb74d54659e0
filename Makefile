# raceapp: `make run` serves the app on http://127.0.0.1:8000, `make test` runs every test,
# `make test-fast` the quick ones while editing, `make lint` the linter and type checker,
# `make messages` brings the Japanese catalogue up to date with the code.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
FLASK := $(BIN)/flask --app app
PORT ?= 8000

.PHONY: install setup run test test-fast lint messages screenshots bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The message catalogues: extracted from the code and templates, translated in the .po files,
# compiled to .mo (not committed: built here, so a fresh clone serves Japanese after install).
TRANSLATIONS := raceapp/translations
POT := $(TRANSLATIONS)/messages.pot
PO := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k _lp:1c,2 -k lazy_pgettext:1c,2

install: $(STAMP) $(MO)

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -D messages -d $(TRANSLATIONS) -l $*

# After changing a sentence in the code: extract, merge into each .po, then translate what
# `make messages` reports as new or changed (tests/test_translations.py fails until then).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --add-comments=Translators: \
	  --sort-by-file --add-location=file --project=raceapp --copyright-holder=raceapp \
	  -o $(POT) .
	$(BIN)/pybabel update -i $(POT) -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(48))" > $@
	chmod 600 $@

instance/vapid_private.pem: $(STAMP)
	$(FLASK) push vapid-keys --out $@

# Migrations, every race file in races/, and the demo accounts (idempotent).
setup: install instance/secret_key instance/vapid_private.pem
	$(FLASK) db upgrade
	$(FLASK) races import races/*.toml
	$(FLASK) demo setup

# The local demo: production settings over plain HTTP on the loopback address, with the demo
# accounts and preview open to all, and a banner on every page saying it is the demo.
run: setup
	RACEAPP_ENV=production RACEAPP_DEMO=1 SECRET_KEY="$$(cat instance/secret_key)" COOKIE_SECURE=0 \
	VAPID_PRIVATE_KEY_FILE=instance/vapid_private.pem \
	PREVIEW_FOR_ALL=1 PUBLIC_URL=http://127.0.0.1:$(PORT) $(BIN)/gunicorn --bind 127.0.0.1:$(PORT) app:app

# The whole suite (browser and Redis tests included) on SQLite, then again on PostgreSQL
# when TEST_DATABASE_URL is set (but for the `pages` tests, which check how pages look and read
# and do not depend on the database); first the offline rules in Node against the shared vectors.
test: install
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-redis.sh
	bash scripts/ensure-node.sh
	node --test tests/js/
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	if [ -n "$$TEST_DATABASE_URL" ]; then $(BIN)/python -m pytest -m "not pages"; fi

# The edit-test loop: unit and HTTP tests on SQLite, two processes, no browser, no slow ones.
test-fast: install
	bash scripts/ensure-node.sh
	node --test tests/js/
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -q -n 2 -m "not browser and not slow"

LINTED := raceapp tests bench scripts migrations/env.py app.py gunicorn.conf.py
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

# Retake docs/screenshots/ from the running app in Chromium at phone size.
screenshots: install
	bash scripts/ensure-chromium.sh
	env -u TEST_DATABASE_URL RACEAPP_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser/test_screenshots.py tests/browser/test_shuttles_in_chromium.py \
	  tests/browser/test_alerts_in_chromium.py tests/browser/test_offline_in_chromium.py \
	  tests/browser/test_japanese_in_chromium.py tests/browser/test_race_state_in_chromium.py \
	  tests/browser/test_console_in_chromium.py

# Benchmarks (not tests): figures go in docs/benchmarks.md.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
bench: install
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/booking_race.py
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/push_fanout.py
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/email_fanout.py
	bash scripts/ensure-chromium.sh
	$(BIN)/python bench/page_weight.py
	$(BIN)/python bench/course_weight.py
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/load.py
	$(BIN)/python bench/growth.py
	if [ -n "$(BENCH_DATABASE_URL)" ]; then BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/growth.py; fi

clean:
	rm -rf $(VENV) .pytest_cache
