# YTEMPIRE Pipeline: every target sets up what it needs (venv, pip, apt packages when missing).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup sysdeps run demo up down status n8n test test-faults lint bench clean

setup: sysdeps $(STAMP)

sysdeps:
	@PY=$(PY) bash devstack/ensure-system-packages.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

run: setup        ## the stack + one sample video, then serve until Ctrl-C
	$(BIN)/python -m devstack run

demo: setup       ## the stack + one sample video, exit when it is validated; last line = MP4 path
	$(BIN)/python -m devstack demo

up: setup         ## the stack in the background, waits until healthy
	$(BIN)/python -m devstack up

down:             ## stop what `make up` started
	$(BIN)/python -m devstack down

status:
	$(BIN)/python -m devstack status

n8n: setup        ## n8n with integrations/n8n against `make up`'s stack until Ctrl-C (installs n8n once into ~/.cache)
	$(BIN)/python -m devstack.n8n

lint: setup       ## ruff, mypy and the import contracts of .importlinter (layers point one way)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint  ## set-up plus the whole suite
	$(BIN)/python -m pytest

test-faults: setup  ## the fault suite at scale: 200 faults while videos run; prints lost/double-charged/over-cap (all 0)
	$(BIN)/python bench/faults.py --faults 200

bench: setup
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/queue_bench.py
	$(BIN)/python bench/stream_bench.py
	$(BIN)/python bench/cache_bench.py
	$(BIN)/python bench/local_stages_bench.py

clean: down
	rm -rf data
