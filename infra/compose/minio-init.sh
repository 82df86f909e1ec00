#!/bin/sh
# Idempotent MinIO set-up on every start: the buckets, and the pipeline's access key with read-write rights.
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
for bucket in $BUCKETS; do
  mc mb --ignore-existing "local/$bucket"
done
if [ "$AWS_ACCESS_KEY_ID" != "$MINIO_ROOT_USER" ]; then
  mc admin user add local "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"
  mc admin policy attach local readwrite --user "$AWS_ACCESS_KEY_ID" || true  # already attached on restarts
fi
echo "minio-init: buckets ready: $BUCKETS"
