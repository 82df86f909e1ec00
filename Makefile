# The two README commands: `make run` (the smoke retrain, end to end) and `make test`.
# Both create or reuse .venv and install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: run test setup bench clean-outputs mlflow-ui

setup:
	@bash scripts/setup.sh

run: setup
	@bash scripts/run-smoke.sh

test: setup
	@$(VENV)/bin/python -m pytest -q

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

mlflow-ui: setup
	@$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --port 5000

clean-outputs:
	rm -rf data/imported data/augmented data/annotated reports models mlflow.db mlartifacts .prefect
