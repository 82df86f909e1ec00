"""Object storage: one configured boto3 client for every S3 user (model store, doctor, stage exchange)."""
