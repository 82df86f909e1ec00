"""The manifest schema, defined once, and the only functions that read or write a manifest.

Paths in the manifest are POSIX paths relative to the manifest's own directory, so a dataset
directory can be moved, pushed to a DVC remote or exported as one unit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components.errors import DataContractError
from components.manifest.names import CATEGORIES, MANIFEST_FILENAME, SPLITS  # re-exported with the other names

# `pairing` values: the person photo shows the garment (ground truth) unless the row is UNPAIRED.
PAIRINGS: tuple[str, ...] = ("cross_view", "same_view", "paired", "unpaired")
UNPAIRED = "unpaired"


def garment_worn(pairing: object) -> bool:
    """Whether a row's person photo shows its garment (unknown pairing: yes, as every published layout pairs)."""
    return pairing != UNPAIRED


STATUSES: tuple[str, ...] = ("ok", "quarantined")

# Annotation outputs, filled by `vton annotate`; null until then, except `cloth_mask_path`, which import fills
# where the source gives the garment's mask (annotate then uses it instead of deriving one).
ANNOTATION_PATH_COLUMNS: tuple[str, ...] = (
    "keypoints_path",  # OpenPose BODY_25 JSON
    "keypoints_coco18_path",  # DressCode COCO-18 JSON
    "pose_render_path",  # rendered skeleton PNG
    "person_mask_path",
    "cloth_mask_path",
    "parse_path",  # LIP label map PNG
    "parse_atr_path",  # ATR label map PNG (SCHP only)
    "densepose_path",  # image-densepose: the I map rendered as IDM-VTON feeds it
    "densepose_iuv_path",  # raw IUV dump (R = part id, G/B = U/V x 255), for code that needs part ids
    "agnostic_mask_path",
    "agnostic_path",
)

# Per-sample figures computed by annotate (pixels unless `_norm`), used by validate, train and evaluate.
STAT_COLUMNS: tuple[str, ...] = (
    "n_people",
    "keypoint_count",
    "keypoint_confidence_mean",
    "person_mask_area",
    "cloth_mask_area",
    "agnostic_mask_area",
    "shoulder_width",
    "torso_length",
    "hip_width",
    "leg_length",
    "body_height",
    "shoulder_width_norm",
    "torso_length_norm",
    "hip_width_norm",
    "leg_length_norm",
    "garment_width_chest",
    "garment_width_waist",
    "garment_width_hem",
    "garment_length",
    "garment_to_body_width_ratio",
    "garment_to_body_length_ratio",
    # Worn fit (components/fit/ratios.py): the garment as worn in the person photo against the same body.
    "fit_width_ratio",
    "fit_length_ratio",
    "fit_span_ratio",
)

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("person_path", pa.string()),
        pa.field("garment_path", pa.string()),
        pa.field("category", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("quarantine_reason", pa.string()),
        pa.field("source", pa.string(), nullable=False),  # dataset or site name
        pa.field("source_url", pa.string()),  # page or file the sample came from
        pa.field("source_image_url", pa.string()),
        pa.field("licence", pa.string(), nullable=False),
        pa.field("fetched_at", pa.string()),  # ISO-8601 UTC, for scraped samples
        pa.field("person_sha256", pa.string()),  # of the original file bytes
        pa.field("garment_sha256", pa.string()),
        # sha256 of the garment file a published unpaired test list (VITON-HD test_pairs.txt, DressCode
        # test_pairs_unpaired.txt) gives this person; evaluate pairs the person with the sample holding it.
        pa.field("unpaired_garment_sha256", pa.string()),
        pa.field("person_phash", pa.string()),  # 64-bit perceptual hash, hex
        pa.field("garment_phash", pa.string()),
        pa.field("person_width", pa.int32()),
        pa.field("person_height", pa.int32()),
        pa.field("garment_width", pa.int32()),
        pa.field("garment_height", pa.int32()),
        pa.field("caption", pa.string()),
        pa.field("parent_id", pa.string()),  # the source sample of an augmented copy
        pa.field("augmentation", pa.string()),  # JSON description of the transform
        pa.field("parsing_source", pa.string()),  # pose_geometry | schp_lip+schp_atr
        # which input the pose model found the person on: original | equalised | person_crop | upscaled_2x
        pa.field("pose_attempt", pa.string()),
        pa.field("mask_sources", pa.string()),  # which maps built the agnostic mask
        pa.field("annotator_versions", pa.string()),  # JSON {annotator: version@weights}
        *[pa.field(c, pa.string()) for c in ANNOTATION_PATH_COLUMNS],
        *[pa.field(c, pa.float64()) for c in STAT_COLUMNS],
        pa.field("fit_label", pa.string()),  # tight | fitted | loose from fit_width_ratio (params fit.thresholds)
        # Filled by annotate when it can, else computed by validate from the files (null until then).
        pa.field("keypoint_visible_mask", pa.int64()),  # bit i: BODY_25 joint i present (confidence > 0)
        pa.field("cloth_mask_border_sides", pa.int32()),  # image sides (0-4) the cloth mask touches
        # Sources whose garment is cut from a photo of the same item (deepFashion-with-masks), filled by import.
        pa.field("item_id", pa.string()),  # the source's item id (DeepFashion `pid`): its views share a split
        pa.field("person_view", pa.string()),  # the person photo's view as the source spells it (`pose`)
        pa.field("garment_view", pa.string()),  # the view of the photo the garment was cut from
        # How the garment relates to the person photo: cross_view (cut from another view of the item) | same_view
        # | paired (the person wears it) | unpaired (a try-on request: the photo does not show it, no ground truth).
        pa.field("pairing", pa.string()),
        pa.field("garment_source_url", pa.string()),  # the row the garment was cut from
        pa.field("source_class", pa.string()),  # the source's own class name (DeepFashion `cloth_type`)
        # The person's gender as the source spells it (DeepFashion `gender`: WOMEN | MEN); null where it has none.
        pa.field("gender", pa.string()),
    ]
)

COLUMNS: tuple[str, ...] = tuple(MANIFEST_SCHEMA.names)
_REQUIRED = [f.name for f in MANIFEST_SCHEMA if not f.nullable]


def sample_id_for(person_sha256: str, garment_sha256: str, category: str) -> str:
    """The stable id of a (person, garment, category) sample: a hash of the two files' contents."""
    return hashlib.sha256(f"{person_sha256}:{garment_sha256}:{category}".encode()).hexdigest()[:16]


def empty_manifest() -> pd.DataFrame:
    """A manifest with every column and no rows."""
    return MANIFEST_SCHEMA.empty_table().to_pandas()


def conform(df: pd.DataFrame, source: str = "manifest") -> pd.DataFrame:
    """`df` with every schema column in schema order (missing nullable ones added as null), validated."""
    unknown = sorted(set(df.columns) - set(COLUMNS))
    if unknown:
        raise DataContractError(
            f"{source}: columns {unknown} are not in the manifest schema",
            hint="add them to components/manifest/schema.py (the one definition) or drop them",
        )
    out = df.copy()
    for name in COLUMNS:
        if name not in out.columns:
            if name in _REQUIRED:
                raise DataContractError(f"{source}: required column {name!r} is missing")
            out[name] = None
    out = out[list(COLUMNS)].reset_index(drop=True)
    validate_rows(out, source)
    return out


def validate_rows(df: pd.DataFrame, source: str = "manifest") -> None:
    """Check the row-level rules of the contract; raise naming the first offending rows."""

    def fail(what: str, mask: pd.Series) -> None:
        ids = df.loc[mask, "sample_id"].astype(str).head(5).tolist()
        raise DataContractError(f"{source}: {what} (sample ids {ids}, {int(mask.sum())} rows)")

    for col in _REQUIRED:
        bad = df[col].isna()
        if bad.any():
            fail(f"column {col!r} has nulls", bad)
    for col, allowed in (("category", CATEGORIES), ("split", SPLITS), ("status", STATUSES)):
        bad = ~df[col].isin(allowed)
        if bad.any():
            fail(f"column {col!r} must be one of {list(allowed)}", bad)
    dup = df["sample_id"].duplicated(keep=False)
    if dup.any():
        fail("sample_id must be unique", dup)
    no_reason = (df["status"] == "quarantined") & df["quarantine_reason"].fillna("").eq("")
    if no_reason.any():
        fail("quarantined samples need a quarantine_reason", no_reason)
    ok = df["status"] == "ok"
    missing_files = ok & (df["person_path"].isna() | df["garment_path"].isna())
    if missing_files.any():
        fail("ok samples need person_path and garment_path", missing_files)


def write_manifest(df: pd.DataFrame, directory: str | Path) -> Path:
    """Validate `df` against the schema and write it as `<directory>/manifest.parquet`, sorted by sample id."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MANIFEST_FILENAME
    df = conform(df, str(path)).sort_values("sample_id", kind="stable").reset_index(drop=True)
    table = pa.Table.from_pandas(df, schema=MANIFEST_SCHEMA, preserve_index=False)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def read_manifest(directory_or_file: str | Path) -> pd.DataFrame:
    """Read and validate a manifest (a dataset directory or the Parquet file itself)."""
    p = Path(directory_or_file)
    path = p / MANIFEST_FILENAME if p.is_dir() else p
    if not path.is_file():
        raise DataContractError(
            f"{path}: manifest not found", hint="run the upstream stage first (`vton data import` or `dvc repro`)"
        )
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:  # truncated, zero-byte or not Parquet at all
        raise DataContractError(f"{path}: not a readable Parquet manifest ({str(exc).splitlines()[0]})",
                                hint="re-run the stage that writes it (`dvc repro -f <stage>`), or restore it with "
                                "`dvc checkout`") from None
    return conform(table.to_pandas(), str(path))


def resolve_path(dataset_dir: str | Path, relative: str) -> Path:
    """The absolute path of a manifest path column value."""
    return (Path(dataset_dir) / relative).resolve()
