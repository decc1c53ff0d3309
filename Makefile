# ShopFocus: `make run` brings the site up with a processed demo; `make test` runs the suite.
# Everything a fresh Debian machine needs is installed from here (venv, pip packages, Debian
# packages, Redis for the tests).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := ffmpeg espeak-ng sox chromium chromium-driver redis-server nginx libnginx-mod-rtmp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: all install system-deps redis run worker test test-fast bench bench-quick bench-memory bench-index bench-adapt bench-workers train train-seed clean-var

all: install

# ---------------------------------------------------------------- installation
$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-nodeps.txt
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	touch $@

install: system-deps $(VENV)/.installed

# Debian packages, only those missing (apt-get update runs only when something is missing).
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# A local Redis for the tests (and for `make run` when CELERY_BROKER_URL points at it).
redis: system-deps
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null

# ---------------------------------------------------------------- the two commands
run: install
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput -v 0
	$(PYTHON) manage.py demo
	@echo "starting a Celery worker (log: var/worker.log) and the web server (gunicorn) on http://$(HOST):$(PORT)/"
	@echo "log in as seller / seller-demo-pass, reviewer / reviewer-demo-pass, admin / admin-demo-pass (shop admin) or staff / staff-demo-pass (platform staff)"
	@echo "live: RTMP ingest on rtmp://127.0.0.1:$${SHOPFOCUS_LIVE_RTMP_PORT:-1935}/live (log: var/live-rtmp.log), $${SHOPFOCUS_LIVE_MAX_SESSIONS:-2} live worker slot(s) (log: var/live-worker.log)"
	@mkdir -p var; $(BIN)/celery -A webapp worker -B -Q cpu,gpu -c 1 --loglevel INFO > var/worker.log 2>&1 & \
	  worker=$$!; export SHOPFOCUS_LIVE_CALLBACK_URL=$${SHOPFOCUS_LIVE_CALLBACK_URL:-http://$(HOST):$(PORT)}; \
	  $(PYTHON) manage.py live_rtmp > var/live-rtmp.log 2>&1 & rtmp=$$!; \
	  $(BIN)/celery -A webapp worker -Q live -c $${SHOPFOCUS_LIVE_MAX_SESSIONS:-2} -n live@%h --loglevel INFO > var/live-worker.log 2>&1 & \
	  live=$$!; trap "kill $$worker $$rtmp $$live 2>/dev/null" EXIT INT TERM; \
	  HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c webapp/gunicorn.conf.py

worker: install
	$(BIN)/celery -A webapp worker -B -Q cpu,gpu -c 1 --loglevel INFO

test: install redis
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

test-fast: install
	$(PYTHON) -m pytest -q tests/unit $(PYTEST_ARGS)

# ---------------------------------------------------------------- benchmark and training
bench: install
	$(PYTHON) bench/run.py $(BENCH_ARGS)
	$(PYTHON) bench/adapt_curve.py $(ADAPT_ARGS)

bench-quick: install
	$(PYTHON) bench/run.py --quick $(BENCH_ARGS)

# Peak RSS and real-time factor of a 10, 60 and 240 minute stream (part of `make bench`, long).
bench-memory: install
	$(PYTHON) bench/run.py --memory-curve $(BENCH_ARGS)

# Learning from corrections (issue 15): 3 shops x 6 episodes of 60-120 s, a simulated reviewer corrects the
# first K = 0, 1, 2, 4 episodes, the last 2 of each shop are measured without and with the shop's memory
# -> bench/results/adapt.{json,md,png}.
bench-adapt: install
	$(PYTHON) bench/adapt_curve.py $(ADAPT_ARGS)

# One 60-minute stream as a split job on 1 and then 2 real Celery workers (PostgreSQL + Redis;
# database shopfocus_bench is recreated) -> bench/results/workers.{json,md} (~15 min; not in `make bench`).
bench-workers: install
	$(PYTHON) bench/workers.py $(BENCH_ARGS)

# A shop's product index at 1M products (generated vectors): build time, bytes, query p50/p99,
# recall@10 against exact search -> bench/results/index.{json,md} (~30 min here; not in `make bench`).
bench-index: install
	$(PYTHON) bench/index_bench.py $(INDEX_BENCH_ARGS)

# Fusion v2 (presence x identity, calibrated interval scores): features of training- and
# validation-split episodes, short ones and 15-minute long streams (160/220-product lists, a third
# of the time with nothing from the list shown; the validation stream's list is padded with
# never-shown training products), with all four modalities and both seed-model features (so run
# `make train-seed` first when the seed models change); then the fit on train, the localizer
# settings and Platt calibration on val (the test split is never used); last, each subset's
# output rules (edge-snapping window, longest bridge dropped) on val pooled with 12 more
# validation episodes as long as the test split's (120-180 s, seed 100). About 50 min here.
TRAIN_FEATURES := --fusion none --modalities visual,speech,screen_text,comments --extra-visual asymnet,lxmert
train: install
	$(PYTHON) bench/run.py --split train --episodes 16 --long 2 --long-min 15 --min-s 60 --max-s 120 --features-only --extra-args "$(TRAIN_FEATURES)"
	$(PYTHON) bench/run.py --split val --episodes 8 --long 1 --long-min 15 --min-s 60 --max-s 120 --features-only --extra-args "$(TRAIN_FEATURES)"
	$(PYTHON) bench/run.py --split val --seed 100 --episodes 12 --long 0 --features-only --name features_valwide --extra-args "$(TRAIN_FEATURES)"
	$(PYTHON) -m ml train $(TRAIN_ARGS)
	$(PYTHON) -m ml train --tune-output --val bench/runs/features_val bench/runs/features_valwide

train-seed: install
	$(PYTHON) -m ml.seed.train --model asymnet --out ml/models/seed_asymnet.pt
	$(PYTHON) -m ml.seed.train --model lxmert --out ml/models/seed_lxmert.pt
	$(PYTHON) -m ml.seed.evaluate --levels 1,5 --out bench/runs/seed_tables.json

clean-var:
	rm -rf var
