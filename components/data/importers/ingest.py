"""Turn candidate pairs into the canonical dataset: decode, check, normalise, hash, split, quarantine.

    <out>/manifest.parquet
    <out>/person/<sample_id>.<ext>     upright 8-bit RGB
    <out>/garment/<sample_id>.<ext>
    <out>/cloth-mask/<sample_id>.png   the garment's cloth mask (0/255, the garment's size) where the source
                                       gives one: a folder's `cloth_mask` column, or the mask a garment is cut
                                       with (deepFashion-with-masks); annotate uses it instead of deriving one
    <out>/quarantine/<sha256>.<ext>    original bytes of every rejected file, so nothing is lost
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from components.manifest.image_io import DecodedImage, DecodeLimits, decode_image_bytes, read_image_file, sha256_bytes
from components.data.importers.candidate import Candidate, GarmentCut
from components.data.importers.garment_cut import cut_cloth_mask, cut_garment, fit_region
from components.data.importers.normalised_cache import NormalisedImage, NormalisedImageCache
from components.data.params import ImportParams, ImportSource
from components.errors import Quarantine
from components.manifest.schema import CATEGORIES, SPLITS, empty_manifest, sample_id_for, write_manifest
from components.manifest.split import split_for
from components.progress import progress
from components.project import resolve

OUTPUT_DIRS = ("person", "garment", "cloth-mask", "quarantine")
CLOTH_MASK_VERSION = 1  # bump when the cloth-mask rule changes, so cached masks are never reused


@dataclass
class ImportReport:
    """Counts from one import, with the reasons samples were quarantined."""

    total: int = 0
    ok: int = 0
    quarantined: int = 0
    cached: int = 0  # images reused from the normalised-image cache instead of decoded again
    reasons: Counter = field(default_factory=Counter)
    per_category: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """One line for the log, then one per quarantine reason."""
        head = (f"imported {self.total} samples: {self.ok} ok, {self.quarantined} quarantined"
                f" ({self.cached} images from cache)")
        cats = ", ".join(f"{c}={n}" for c, n in sorted(self.per_category.items()))
        lines = [head + (f"; {cats}" if cats else "")]
        lines += [f"  quarantined x{n}: {r}" for r, n in self.reasons.most_common()]
        return "\n".join(lines)


def _mask_key(sha: str) -> str:
    """Cache key of the cloth mask made from the file (or cut) whose key is `sha`."""
    return sha256_bytes(f"cloth-mask:v{CLOTH_MASK_VERSION}:{sha}".encode())


def _raw_bytes(item: Path | Image.Image | bytes | GarmentCut | None) -> bytes | None:
    if item is None:
        return None
    if isinstance(item, GarmentCut):
        return item.photo
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    if isinstance(item, Image.Image):
        buf = io.BytesIO()
        item.save(buf, format="PNG")
        return buf.getvalue()
    return item.read_bytes() if item.is_file() else None


class _RecentPhotos:
    """The last few decoded photos by content hash: a photo worn in one pair and cut for the garment of the
    next pairs of its item is decoded once."""

    def __init__(self, size: int = 16) -> None:
        self.size, self.images, self.lock = size, {}, threading.Lock()

    def decode(self, data: bytes, limits: DecodeLimits, sha: str | None = None) -> DecodedImage:
        """`data` decoded (decode_image_bytes), reusing a recent decode of the same bytes."""
        sha = sha or sha256_bytes(data)
        with self.lock:
            hit = self.images.get(sha)
        if hit is not None:
            return hit
        decoded = decode_image_bytes(data, limits, sha256=sha)
        with self.lock:
            self.images[sha] = decoded
            if len(self.images) > self.size:
                self.images.pop(next(iter(self.images)))
        return decoded


def _normalise(item: Path | Image.Image | bytes | GarmentCut | None, limits: DecodeLimits,
               cache: NormalisedImageCache, recent: _RecentPhotos) -> NormalisedImage:
    """The checked, normalised image for `item`: from the cache when its bytes (or its cut) were seen before."""
    if item is None:
        raise Quarantine("missing image")
    data = read_image_file(item, limits) if isinstance(item, Path) else _raw_bytes(item) or b""
    sha = sha256_bytes(data)
    return cache.lookup(sha) or cache.store(recent.decode(data, limits, sha))


def _normalise_cut(cut: GarmentCut, limits: DecodeLimits, cache: NormalisedImageCache, masks: NormalisedImageCache,
                   recent: _RecentPhotos) -> tuple[NormalisedImage, NormalisedImage]:
    """(garment, cloth mask) cut from the photo with the cut's region: from the caches when cut before."""
    garment, mask = cache.lookup(cut.key), masks.lookup(_mask_key(cut.key))
    if garment is None or mask is None:
        cut_image, cut_mask = _cut(cut, limits, recent)
        garment = garment or cache.store(cut_image)
        mask = mask or masks.store(cut_mask)
    return garment, mask


def _cut(cut: GarmentCut, limits: DecodeLimits, recent: _RecentPhotos) -> tuple[DecodedImage, DecodedImage]:
    """The garment cut from its photo, checked like any decoded image (its sha256 is the cut's key), and its
    cloth mask: the region it was cut with, cropped alike."""
    try:
        photo = recent.decode(cut.photo, limits).image
    except Quarantine as q:
        raise Quarantine(f"photo of {cut.origin} it is cut from: {q.reason}") from None
    region = fit_region(cut.region(), photo.size, "mask")
    garment = cut_garment(photo, region)
    if min(garment.size) < limits.min_side:
        raise Quarantine(f"cut too small ({garment.width}x{garment.height}, shortest side < {limits.min_side} px)")
    return (DecodedImage(garment, cut.key, "RGB", "cut", False),
            DecodedImage(cut_cloth_mask(region), _mask_key(cut.key), "L", "cut", False))


def _normalise_mask(item: Path | bytes, limits: DecodeLimits, masks: NormalisedImageCache) -> NormalisedImage:
    """A cloth-mask file as a 0/255 one-channel PNG (pixels >= 128 are garment): from the cache when seen before."""
    data = read_image_file(item, limits) if isinstance(item, Path) else bytes(item)
    key = _mask_key(sha256_bytes(data))
    hit = masks.lookup(key)
    if hit is not None:
        return hit
    decoded = decode_image_bytes(data, limits)  # EXIF-upright, as the garment it belongs to
    garment = np.asarray(decoded.image.convert("L")) >= 128
    if not garment.any():
        raise Quarantine("marks no garment (no pixel >= 128)")
    mask = Image.fromarray(garment.astype(np.uint8) * 255, "L")
    return masks.store(DecodedImage(mask, key, decoded.original_mode, decoded.original_format, decoded.exif_transposed))


def _keep_original(item: Path | Image.Image | bytes | GarmentCut | None, quarantine_dir: Path) -> str | None:
    """Copy a rejected file's bytes (for a cut: its photo's) into quarantine/ and return its manifest path."""
    try:
        data = _raw_bytes(item)
    except OSError:
        return None
    if data is None:
        return None
    suffix = item.suffix.lower() if isinstance(item, Path) and item.suffix else ".bin"
    name = f"{sha256_bytes(data)[:16]}{suffix}"
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    (quarantine_dir / name).write_bytes(data)
    return f"quarantine/{name}"


def _summary_reason(reason: str, origin: str) -> str:
    """A quarantine reason without the row it came from, so the summary counts rows per kind of fault."""
    if origin and reason.startswith(origin + ": "):
        reason = reason[len(origin) + 2:]
    reason = re.sub(r"^row \d+( \([^)]*\))?: ", "", reason)
    return reason.split(":")[0] if reason.startswith(("person", "garment")) else reason


def _split_hash(c: Candidate, person_sha256: str) -> str:
    """What decides a sample's split: its split key (an item's views stay together), else the person photo."""
    return sha256_bytes(c.split_key.encode()) if c.split_key else person_sha256


def _base_row(c: Candidate) -> dict:
    return {
        "source": c.source,
        "source_url": c.source_url or (str(c.person) if isinstance(c.person, Path) else None),
        "source_image_url": c.source_image_url,
        "licence": c.licence,
        "fetched_at": c.fetched_at,
        "caption": c.caption,
        "unpaired_garment_sha256": c.unpaired_garment_sha256,
        "item_id": c.item_id,
        "person_view": c.person_view,
        "garment_view": c.garment_view,
        "pairing": c.pairing,
        "garment_source_url": c.garment_source_url,
        "source_class": c.source_class,
        "gender": c.gender,
    }


def _check(c: Candidate) -> None:
    """The checks a candidate must pass before any image is decoded."""
    if c.reason:
        raise Quarantine(c.reason)
    if c.category not in CATEGORIES:
        raise Quarantine(f"unknown garment category {c.category!r} (expected one of {list(CATEGORIES)})")
    if c.split is not None and c.split not in SPLITS:
        raise Quarantine(f"unknown split {c.split!r} (expected one of {list(SPLITS)})")


@dataclass
class _Normaliser:
    """Decodes, checks and encodes one candidate's two images; safe to run in several threads at once."""

    limits: DecodeLimits
    cache: NormalisedImageCache
    masks: NormalisedImageCache  # cloth masks: always PNG, whatever the images' format
    recent: _RecentPhotos

    def __call__(self, c: Candidate) -> tuple[NormalisedImage, NormalisedImage, NormalisedImage | None] | Quarantine:
        """(person, garment, cloth mask or None) ready to write, or the Quarantine that stopped them."""
        try:
            _check(c)
            try:
                person = _normalise(c.person, self.limits, self.cache, self.recent)
            except Quarantine as q:
                raise Quarantine(f"person image: {q.reason}") from None
            mask = None
            try:
                if isinstance(c.garment, GarmentCut):
                    garment, mask = _normalise_cut(c.garment, self.limits, self.cache, self.masks, self.recent)
                else:
                    garment = _normalise(c.garment, self.limits, self.cache, self.recent)
            except Quarantine as q:
                raise Quarantine(f"garment image: {q.reason}") from None
            if c.cloth_mask is not None:
                try:
                    mask = _normalise_mask(c.cloth_mask, self.limits, self.masks)
                except Quarantine as q:
                    raise Quarantine(f"cloth mask: {q.reason}") from None
                if (mask.width, mask.height) != (garment.width, garment.height):
                    raise Quarantine(f"cloth mask: {mask.width}x{mask.height}, the garment image "
                                     f"{garment.width}x{garment.height} (a cloth mask has the garment's size)")
            return person, garment, mask
        except Quarantine as q:
            return q


def _in_order(work: Callable[[Candidate], object], candidates: Iterable[Candidate],
              workers: int) -> Iterator[tuple[Candidate, object]]:
    """(candidate, work(candidate)) in the candidates' order, `workers` at a time; a bounded window of
    candidates is in flight, so a streamed source stays streamed. Pillow and zlib release the GIL while
    decoding and encoding, so threads use the cores without copying images between processes."""
    if workers <= 1:
        for c in candidates:
            yield c, work(c)
        return
    window: deque = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vton-import") as pool:
        for c in candidates:
            window.append((c, pool.submit(work, c)))
            if len(window) >= 2 * workers:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()


def import_workers(setting: int) -> int:
    """Threads for decoding and encoding: `setting`, or every core this process may use when it is 0."""
    if setting:
        return setting
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def ingest_candidates(
    candidates: Iterable[Candidate], out_dir: Path, params: ImportParams, cache_dir: Path | None = None
) -> tuple[pd.DataFrame, ImportReport]:
    """Decode and check every candidate, write the normalised images and return (manifest rows, report)."""
    limits = DecodeLimits(params.min_side, params.max_pixels, int(params.max_file_mb * 2**20))
    ext = "jpg" if params.image_format == "jpg" else "png"
    png = (params.png_compress_level, params.png_zlib_strategy, params.png_filter)
    cache = NormalisedImageCache(cache_dir, limits.__dict__, ext, params.jpeg_quality, png)
    masks = NormalisedImageCache(cache_dir, {**limits.__dict__, "cloth_mask": CLOTH_MASK_VERSION}, "png",
                                 params.jpeg_quality, png)
    normalise = _Normaliser(limits, cache, masks, _RecentPhotos())
    rows: list[dict] = []
    report = ImportReport()
    seen: dict[str, str] = {}
    results = _in_order(normalise, candidates, import_workers(params.workers))
    for c, result in progress(results, desc="import", unit="pair"):
        report.total += 1
        row = _base_row(c)
        try:
            if isinstance(result, Quarantine):
                raise result
            person, garment, mask = result
            sid = sample_id_for(person.sha256, garment.sha256, c.category)
            if sid in seen:
                raise Quarantine(f"exact duplicate of sample {sid} ({seen[sid]})")
            seen[sid] = c.origin
            person_rel, garment_rel = f"person/{sid}.{ext}", f"garment/{sid}.{ext}"
            person.write(out_dir / person_rel)
            garment.write(out_dir / garment_rel)
            if mask is not None:
                mask.write(out_dir / f"cloth-mask/{sid}.png")
            row.update(
                cloth_mask_path=f"cloth-mask/{sid}.png" if mask is not None else None,
                sample_id=sid,
                person_path=person_rel,
                garment_path=garment_rel,
                category=c.category,
                split=c.split or split_for(_split_hash(c, person.sha256), params.test_fraction),
                status="ok",
                person_sha256=person.sha256,
                garment_sha256=garment.sha256,
                person_phash=person.phash,
                garment_phash=garment.phash,
                person_width=person.width,
                person_height=person.height,
                garment_width=garment.width,
                garment_height=garment.height,
            )
            report.ok += 1
            report.per_category[c.category] += 1
        except Quarantine as q:
            reason = f"{c.origin}: {q.reason}" if c.origin and not q.reason.startswith(c.origin) else q.reason
            person_rel = _keep_original(c.person, out_dir / "quarantine")
            garment_rel = _keep_original(c.garment, out_dir / "quarantine")
            mask_rel = _keep_original(c.cloth_mask, out_dir / "quarantine") if c.cloth_mask is not None else None
            key = f"{c.source}|{c.origin}|{person_rel}|{garment_rel}|{report.total}"
            row.update(
                sample_id="q" + sha256_bytes(key.encode())[:15],
                person_path=person_rel,
                garment_path=garment_rel,
                cloth_mask_path=mask_rel,
                category=c.category if c.category in CATEGORIES else "upper_body",
                split=c.split if c.split in SPLITS else "train",
                status="quarantined",
                quarantine_reason=reason,
            )
            report.quarantined += 1
            report.reasons[_summary_reason(q.reason, c.origin)] += 1
        rows.append(row)
    report.cached += cache.hits + masks.hits
    return pd.DataFrame(rows), report


def candidates_for(source: ImportSource, root: Path) -> Iterable[Candidate]:
    """The candidates a source layout lists."""
    from components.data.importers.dresscode import read_dresscode
    from components.data.importers.folder import read_folder
    from components.data.importers.hf import read_hf
    from components.data.importers.viton_hd import read_viton_hd

    path = resolve(source.path, root)
    name = source.name or (source.path if source.kind == "hf" else path.name)
    if source.kind == "hf":
        hub_or_local = str(path) if path.exists() else source.path
        return read_hf(hub_or_local, name, source.licence, source.hf_split, source.category,
                       columns=source.hf_columns, mask_labels=source.hf_mask_labels)
    if not path.is_dir():
        from components.errors import DataContractError

        raise DataContractError(f"{path}: source folder not found", hint=f"check import.sources path {source.path!r}")
    reader = {"folder": read_folder, "viton_hd": read_viton_hd, "dresscode": read_dresscode}[source.kind]
    return reader(path, name, source.licence)


def import_sources(params: ImportParams, out_dir: Path, root: Path) -> ImportReport:
    """Import every configured source into `out_dir` (replacing what was there) and write the manifest."""
    cache_dir = resolve(params.cache_dir, root) if params.cache_dir else None
    for sub in OUTPUT_DIRS:
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames, total = [], ImportReport()
    for source in params.sources:
        df, report = ingest_candidates(candidates_for(source, root), out_dir, params, cache_dir)
        frames.append(df)
        total.total += report.total
        total.ok += report.ok
        total.quarantined += report.quarantined
        total.cached += report.cached
        total.reasons.update(report.reasons)
        total.per_category.update(report.per_category)
    frames = [f for f in frames if not f.empty]
    # No rows at all (no sources, or sources listing nothing) is an empty manifest with every column.
    manifest = pd.concat(frames, ignore_index=True) if frames else empty_manifest()
    if not manifest.empty:
        # The same pair reached through two sources: keep the first, quarantine the rest with the reason.
        dup = manifest["sample_id"].duplicated(keep="first")
        for i in manifest.index[dup]:
            sid = manifest.at[i, "sample_id"]
            manifest.at[i, "status"] = "quarantined"
            manifest.at[i, "quarantine_reason"] = f"exact duplicate of sample {sid} from another source"
            manifest.at[i, "sample_id"] = "q" + sha256_bytes(f"{sid}|{i}".encode())[:15]
    write_manifest(manifest, out_dir)
    return total
