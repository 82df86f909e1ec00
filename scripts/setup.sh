#!/usr/bin/env bash
# Create or reuse .venv and install the locked dependency set plus the project (editable).
# Re-running is cheap: the install is skipped when requirements.lock and pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-services.sh  # server binaries for the infra integration tests (PostgreSQL); quiet, idempotent
PYTHON=${PYTHON:-python3}
VENV=.venv
stamp="$VENV/.vton-installed"
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
log="$VENV/setup.log"
echo "setup: installing the locked dependencies (first time: a few minutes; log in $log)"
install() {
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  if command -v uv >/dev/null 2>&1 && [ "${VTON_USE_UV:-0}" = "1" ]; then
    uv pip install --python "$VENV/bin/python" -r requirements.lock
  else
    "$VENV/bin/python" -m pip install --quiet -r requirements.lock
  fi
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
}
if ! install > "$log" 2>&1; then
  grep -v "^WARNING: Location" "$log" | tail -n 40
  echo "setup: installing dependencies failed (full log: $log)" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "setup: done"
