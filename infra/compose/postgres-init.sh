#!/bin/sh
# First start only (docker-entrypoint-initdb.d): one database each for MLflow and Prefect, owned by POSTGRES_USER.
set -eu
for db in "${MLFLOW_DB:-mlflow}" "${PREFECT_DB:-prefect}"; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-postgres}" \
    -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\";"
done
