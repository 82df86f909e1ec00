"""The code digest evaluate's Ray workers are checked against covers every package that shapes a result (no Ray
needed: the digest is read from the source tree)."""

from __future__ import annotations

import re
from pathlib import Path

from components.evaluate.executors.ray_executor import CODE_PACKAGES, code_digest

COMPONENTS = Path(__file__).resolve().parents[2] / "components"
# Imported by the digested packages without shaping a generated image: errors and logging, paths and params,
# tracking and the registry, hashing and caches of files (checked by content) and their remembered digests, the
# installed libraries' version strings (cache keys), the model store (weights checked by sha256), the Ray pool.
NOT_SHAPING = {"errors", "progress", "project", "params", "config", "tracking", "registry", "hashing", "file_store",
               "file_digests", "package_versions", "models", "executors", "storage"}


def test_every_package_the_digested_code_imports_is_digested_or_cannot_change_a_result():
    imported = set()
    for package in CODE_PACKAGES:
        for path in (COMPONENTS / package).rglob("*.py"):
            imported |= set(re.findall(r"(?:from|import) components\.([a-z_]+)", path.read_text()))
    assert imported - NOT_SHAPING <= set(CODE_PACKAGES), sorted(imported - NOT_SHAPING - set(CODE_PACKAGES))
    assert len(code_digest()) == 64
