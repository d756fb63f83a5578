# Everything a fresh machine needs: `make run` starts caliber, `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint pytest accuracy clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench,scale]'
	touch $(STAMP)

# The HTTP service on 127.0.0.1:8000 with embedded defaults (SQLite and evidence under ./data).
# With no API key yet it prints how to create one (`caliber keys create --role admin`).
run: $(STAMP)
	$(BIN)/caliber serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check vision api models tracing benchmarks tests
	$(BIN)/mypy vision models tracing api benchmarks

# The officer page's end-to-end tests drive Debian's Chromium: install it when it is missing
# (sudo only when not root). With CI=true the web tests fail, not skip, without it.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium
	test -x $(CHROMIUM)

pytest: $(STAMP) browser
	$(BIN)/pytest -q

test: lint pytest

# The accuracy tables of benchmarks/README.md: generates the synthetic set if missing, then runs
# the pipeline and the raw engine side by side on it and on the real development photos.
REAL_DEV ?= ../shared/datasets/real-dev
accuracy: $(STAMP)
	test -f benchmarks/data/synth-v1/manifest.csv || $(BIN)/python -m benchmarks.make_dataset
	$(BIN)/python -m benchmarks.accuracy benchmarks/data/synth-v1 --reader caliber --reader raw
	test ! -f $(REAL_DEV)/manifest.csv || $(BIN)/python -m benchmarks.accuracy $(REAL_DEV) --reader caliber --reader raw

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
