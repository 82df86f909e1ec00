#!/usr/bin/env bash
# The README's run command: the end-to-end retrain flow, smoke profile, on the bundled sample data,
# with embedded defaults (Prefect without a server, MLflow on SQLite, a local DVC remote).
set -euo pipefail
cd "$(dirname "$0")/.."
export PREFECT_HOME="${PREFECT_HOME:-$PWD/.prefect}"
exec .venv/bin/vton retrain --profile smoke "$@"
