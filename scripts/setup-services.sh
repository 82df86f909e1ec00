#!/usr/bin/env bash
# Server binaries the infra integration tests start on 127.0.0.1: PostgreSQL from Debian's packages.
# Idempotent and quiet: installs only when initdb is missing, and only as root with apt-get available;
# otherwise the tests that need it skip with the reason. (moto, MLflow and Prefect come from the venv.)
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-services: PostgreSQL not installed (needs root + apt-get); the team-stack tests will skip" >&2
  exit 0
fi
echo "setup-services: installing PostgreSQL (Debian package) for the integration tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
