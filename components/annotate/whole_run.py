"""The whole-run lookup: a re-run of `vton annotate` whose inputs, params, code and libraries are all unchanged
gets its dataset (layout files, manifest, pair lists) and overlay sheets back from the annotate cache, by a link
per file, without reading a manifest, planning a sample or loading a model.

    <cache_dir>/runs/<kk>/<key>.json   one finished run: the files it read (path -> sha256, None if it found
                                       one missing), every file it wrote (path -> sha256, size, mtime), its
                                       overlay sheets and its counts

A run is a pure function of what it reads (the input manifest or the photo folder's listing, then every photo,
garment, cloth mask and weights file), the params, the code and the installed libraries: the key holds what
can be known before reading a manifest, the record the files read, each checked by its size and mtime
(FileDigests). The files are the annotate cache's file store (cache.py). This module imports no pandas,
pyarrow, numpy, PIL, OpenCV or MediaPipe, so the stage asks it before importing the annotate code (run.py).
A miss costs the key: the run goes on as before, and its samples' own records decide what is annotated again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from components.annotate.layout_paths import LAYOUT_DIRS, prune_unreferenced
from components.annotate.params import AnnotateParams
from components.annotate.photo_folder import folder_photos
from components.annotate.report import AnnotateResult, EngineReport
from components.file_digests import FileDigests
from components.file_store import FileStore, write_atomically
from components.fit.params import FitParams
from components.manifest.names import MANIFEST_FILENAME, SPLITS
from components.models import store
from components.package_versions import installed_distributions

# Where samples are annotated, never what they hold: not part of a run's key (engine.sample_key leaves them out too).
PLACEMENT = ("workers", "shard_size", "executor", "ray", "cache_dir")

# The code under components/ that a run's files are made of, as whole folders, so that no module can be left out
# by accident: a change anywhere in them costs one full re-run, whose samples' own keys then decide what is
# annotated again.
CODE_FOLDERS = ("annotate", "manifest", "fit")
CODE_FILES = ("errors.py", "file_digests.py", "file_store.py", "hashing.py", "models/store.py", "package_versions.py")

RUNS = "runs"


@dataclass
class RunLookup:
    """What the lookup found: the restored run's result, or (result None) the key a full run is recorded under."""

    cache_dir: Path
    key: str | None  # None when the input manifest cannot be read: the full run says why, and nothing is recorded
    sheets_dir: Path
    result: AnnotateResult | None


def look_up_run(source: Path, target: Path, settings: AnnotateParams, fit: FitParams, cache_dir: Path,
                sheets_dir: Path, categories: list[str] | None) -> RunLookup:
    """Restore the finished run these arguments describe into `target` and `sheets_dir` when the cache holds it
    (`result` set). `categories` is None for a dataset, else the garment categories a photo folder is annotated for."""
    digests = FileDigests(cache_dir)
    key = run_key(source, target, settings, fit, categories, digests)
    result = _restore(cache_dir, key, target, sheets_dir, digests) if key else None
    digests.save()  # facts learnt here (the manifest's sha256) serve the full run on a miss
    return RunLookup(cache_dir, key, sheets_dir, result)


def run_key(source: Path, target: Path, settings: AnnotateParams, fit: FitParams, categories: list[str] | None,
            digests: FileDigests) -> str | None:
    """The key of a whole run: what it reads as far as it is known before a manifest is read, where the output
    lies relative to the input (the rows' paths carry it), the params (placement left out), the code, the
    installed libraries and the model catalog in effect. None when the input manifest cannot be read."""
    if categories is None:
        try:
            reads: dict = {"manifest": digests.sha256(source / MANIFEST_FILENAME)}
        except OSError:
            return None
    else:
        target_real = target.resolve()
        reads = {"photos": [[p.relative_to(source).as_posix(), os.path.relpath(p.resolve(), target_real)]
                            for p in folder_photos(source)], "categories": list(categories)}
    catalog = Path(os.environ.get("VTON_MODEL_CATALOG") or store.CATALOG_PATH)
    blob = json.dumps({
        "reads": reads,
        "prefix": os.path.relpath(source.resolve(), target.resolve()),
        "params": settings.model_dump(mode="json", exclude=set(PLACEMENT)),
        "fit": fit.model_dump(mode="json"),
        "code": code_digest(),
        "libraries": installed_distributions(),
        "models": [str(catalog), digests.sha256(catalog) if catalog.is_file() else None, str(store.cache_root())],
    }, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def code_digest() -> str:
    """sha256 of every source file in CODE_FOLDERS (paths and bytes) and of CODE_FILES."""
    root = Path(__file__).resolve().parents[1]
    files = [root / rel for rel in CODE_FILES]
    for folder in CODE_FOLDERS:
        for here, dirs, names in os.walk(root / folder):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            files += [Path(here) / n for n in names if n.endswith(".py")]
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(f"{path.relative_to(root).as_posix()}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def save_run(lookup: RunLookup, result: AnnotateResult) -> None:
    """Record the finished run `result` under the lookup's key: its inputs, every file of its dataset (stored in
    the file store by content) and its sheets, and its counts as a cached re-run reports them."""
    if lookup.key is None:
        return
    out_dir, files = result.out_dir, FileStore(lookup.cache_dir / "files")
    written = [*_layout_files(out_dir), *(name for name in _top_files() if (out_dir / name).is_file())]
    sheets = {category: list(files.put(path)) for category, path in result.sheets.items()}
    record = {"inputs": result.inputs, "files": files.put_files(out_dir, written), "sheets": sheets,
              "report": dataclasses.asdict(result.report.as_cached())}
    write_atomically(_record_path(lookup.cache_dir, lookup.key), json.dumps(record, sort_keys=True).encode())


def _restore(cache_dir: Path, key: str, target: Path, sheets_dir: Path, digests: FileDigests) -> AnnotateResult | None:
    """The recorded run's result once its files are back in `target` and `sheets_dir`, else None: no record, an
    input no longer the one recorded (nothing touched then), or a blob gone (a partial restore the full run redoes)."""
    try:
        record = json.loads(_record_path(cache_dir, key).read_text())
        if not all(_unchanged(Path(path), sha, digests) for path, sha in record["inputs"].items()):
            return None
        files, sheets, report = record["files"], record["sheets"], EngineReport(**record["report"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    store = FileStore(cache_dir / "files")
    prune_unreferenced(target, set(files))  # the layout files of samples the run no longer has, as a run prunes
    placed = {category: sheets_dir / f"overlay_{category}.jpg" for category in sheets}
    if not store.ensure_files(files, target) or not all(
            store.ensure_files({path.name: sheets[category]}, sheets_dir) for category, path in placed.items()):
        return None
    return AnnotateResult(report, target, sheets=placed, inputs=record["inputs"])


def _unchanged(path: Path, sha256: str | None, digests: FileDigests) -> bool:
    """Whether `path` still holds the recorded bytes (None recorded: still missing)."""
    if sha256 is None:
        return not path.exists()
    try:
        return digests.sha256(path) == sha256
    except OSError:
        return False


def _layout_files(out_dir: Path) -> list[str]:
    """The layout files in `out_dir`, relative to it (what prune_unreferenced keeps or removes)."""
    found = []
    for split in SPLITS:
        for sub in LAYOUT_DIRS:
            try:
                names = os.listdir(out_dir / split / sub)
            except OSError:
                continue
            found += [f"{split}/{sub}/{name}" for name in names if (out_dir / split / sub / name).is_file()]
    return sorted(found)


def _top_files() -> tuple[str, ...]:
    """The dataset's own files beside its split folders: the manifest and one pair list per split."""
    return (MANIFEST_FILENAME, *(f"{split}_pairs.txt" for split in SPLITS))


def _record_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / RUNS / key[:2] / f"{key}.json"
