#!/bin/sh
# Container entry point: point DVC at the team remote when the environment names one, then run the command.
# `docker run IMAGE data import` and `docker run IMAGE vton data import` both work; any other executable
# (prefect, mlflow, python) runs as given, so Prefect workers and the MLflow server use the same image.
set -eu
if [ -n "${VTON_DVC_REMOTE_URL:-}" ] && [ -d .dvc ]; then
  vton remote configure >/dev/null
fi
if [ "$#" -eq 0 ]; then
  set -- vton --help
elif ! command -v "$1" >/dev/null 2>&1; then
  set -- vton "$@"
fi
exec "$@"
