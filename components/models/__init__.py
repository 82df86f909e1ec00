"""The model store: the committed catalog of models and their checksum-verified local cache."""

from components.models.store import Catalog, ChecksumMismatch, ModelEntry, ensure_weights, pull_model, verify_file

__all__ = ["Catalog", "ChecksumMismatch", "ModelEntry", "ensure_weights", "pull_model", "verify_file"]
