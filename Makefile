# The two README commands: `make run` (the smoke retrain, end to end) and `make test`.
# Both create or reuse .venv and install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: run test setup bench bench-full clean-outputs mlflow-ui

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run-smoke.sh

# Two pytest-xdist workers, one per core of CI's 2-core machine (the suite takes about half the time of one
# process); whole files go to one worker, so a module's Ray cluster or team stack starts once.
# `make test TEST_WORKERS=auto` uses every core; `TEST_WORKERS=0` runs in this process.
TEST_WORKERS ?= 2
test: setup
	@PYTHONFAULTHANDLER=1 $(VENV)/bin/python -X faulthandler -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# `make bench`: every benchmarks/*.py, each at sizes that finish in minutes on a shared 2-core machine (the
# scripts' defaults, or the BENCH_ARGS_<script> below); the GPU scripts print one line without CUDA.
# `make bench-full`: every script at its own defaults and the full sizes its docstring names (hours on 2 cores).
# Override one: `make bench BENCH_ARGS_annotate="--copies 8"`.
BENCH_SCRIPTS := $(sort $(wildcard benchmarks/*.py))
BENCH_ARGS_annotate ?= --copies 1 --repeats 3
BENCH_ARGS_augment ?= --samples 8 --size 384x512 --repeats 3
BENCH_ARGS_retrain ?= --pairs 2 --skip-forced --stages scrape import annotate augment validate
BENCH_ARGS_train_baselines ?= --budget 100 --every 50
BENCH_ARGS_annotate_ray ?= --copies 1
BENCH_ARGS_import ?= --pairs 500 --rows 500
BENCH_ARGS_augment_ray ?= --samples 8
BENCH_FULL_ARGS_train_baselines ?= --budget 400 --every 50
bench_name = $(basename $(notdir $(1)))
bench_args = $(if $(FULL),$(BENCH_FULL_ARGS_$(call bench_name,$(1))),$(BENCH_ARGS_$(call bench_name,$(1))))

# A loaded machine can take minutes to start Prefect's temporary server (retrain.py); the CLI's default is 120 s.
bench: setup
	@set -e; all=$$(date +%s); \
	export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=$${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-600}; \
	$(foreach b,$(BENCH_SCRIPTS),echo "== $(b) $(call bench_args,$(b))"; t=$$(date +%s); \
	  $(VENV)/bin/python $(b) $(call bench_args,$(b)); \
	  echo "== $(b): $$(( $$(date +%s) - t )) s, load $$(cut -d' ' -f1-3 /proc/loadavg)"; times="$$times $(call bench_name,$(b))=$$(( $$(date +%s) - t ))s";) \
	echo "== make bench: $$(( $$(date +%s) - all )) s in all:$$times"

bench-full:
	@$(MAKE) --no-print-directory bench FULL=1

mlflow-ui: setup
	@$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --port 5000

clean-outputs:
	rm -rf data/imported data/augmented data/annotated reports models mlflow.db mlartifacts .prefect
