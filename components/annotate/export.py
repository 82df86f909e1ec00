"""`vton export`: an annotated dataset written with the file names, modes and pair lists the published
VITON-HD and DressCode datasets have, where their dataset classes look.

viton-hd (tops only; other categories are skipped and counted):
    <out>/<split>/image/<id>_00.jpg, cloth/<id>_00.jpg          RGB JPEG
    <out>/<split>/cloth-mask/<id>_00.jpg                         single-channel (L) JPEG, 0/255
    <out>/<split>/image-parse-v3/<id>_00.png                     LIP ids (palette PNG)
    <out>/<split>/openpose_json/<id>_00_keypoints.json, openpose_img/<id>_00_rendered.png
    <out>/<split>/agnostic-v3.2/<id>_00.jpg, agnostic-mask/<id>_00_mask.png, image-densepose/<id>_00.jpg
    <out>/train_pairs.txt                                        "<id>_00.jpg <id>_00.jpg"
    <out>/test_pairs.txt                                         unpaired, as published: "<id>_00.jpg <other>_00.jpg"
    <out>/test_pairs_paired.txt                                  "<id>_00.jpg <id>_00.jpg"
dresscode (only the categories that have samples get a folder):
    <out>/<category>/images/<id>_0.jpg (person), <id>_1.jpg (garment)
    <out>/<category>/keypoints/<id>_2.json                       COCO-18 in DressCode's 384 x 512 frame
    <out>/<category>/label_maps/<id>_4.png                       DressCode's 18 ATR label ids, one channel
    <out>/<category>/skeletons/<id>_5.jpg
    <out>/<category>/dense/<id>_5.png, <id>_5_uv.npz             DensePose part ids (L) and uv (2 x H x W), when it ran
    <out>/<category>/masks/<id>_1.png                            garment mask (an extra)
    <out>/<category>/{train_pairs,test_pairs_paired,test_pairs_unpaired}.txt
    <out>/{train_pairs,test_pairs_paired,test_pairs_unpaired}.txt   the same with the category as third column

The unpaired lists take each test person's published unpaired garment when the manifest has one and it was
exported, else the next person's garment (components/evaluate/pairs.py: the pairs evaluate scores).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from components.errors import ConfigError
from components.evaluate.pairs import unpaired_partners
from components.manifest.schema import CATEGORIES, read_manifest
from components.progress import progress

FORMATS = ("viton-hd", "dresscode")
# LIP id -> DressCode / ATR id (LIP has no belt or bag; gloves count as arms, socks as legs, coats as tops).
LIP_TO_DRESSCODE = np.array([0, 1, 2, 14, 3, 4, 7, 4, 12, 6, 7, 17, 5, 11, 14, 15, 12, 13, 9, 10], np.uint8)
DRESSCODE_FRAME = (384, 512)  # DressCode's dataset class reads keypoints as coordinates in a 384 x 512 image
# The files each format's dataset class opens for every sample: manifest column -> folder it lands in.
VITON_HD_NEEDS = {"person_path": "image", "garment_path": "cloth", "cloth_mask_path": "cloth-mask",
                  "parse_path": "image-parse-v3", "keypoints_path": "openpose_json", "pose_render_path": "openpose_img"}
DRESSCODE_NEEDS = {"person_path": "images", "garment_path": "images", "keypoints_coco18_path": "keypoints",
                   "pose_render_path": "skeletons"}
VITON_HD_LISTS = {"train": ("train_pairs.txt",), "test": ("test_pairs.txt", "test_pairs_paired.txt")}
DRESSCODE_LISTS = ("train_pairs.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt")


@dataclass
class ExportReport:
    """What an export wrote and what it left out, with the reason for each left-out sample."""

    fmt: str
    out: Path
    exported: Counter = field(default_factory=Counter)  # (category, split) -> samples
    skipped: Counter = field(default_factory=Counter)  # reason -> samples
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Samples exported."""
        return sum(self.exported.values())

    def summary(self) -> str:
        """One line for the export, then one per skip reason and note."""
        parts = ", ".join(f"{c}/{s}={n}" for (c, s), n in sorted(self.exported.items()))
        lines = [f"exported {self.total} samples as {self.fmt} to {self.out}" + (f": {parts}" if parts else "")]
        lines += [f"  skipped x{n}: {reason}" for reason, n in self.skipped.most_common()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _photo(src: Path, dst: Path) -> None:
    """An RGB JPEG at `dst`: the file's own bytes when it already is one (no second JPEG generation)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as img:
        if img.format == "JPEG" and img.mode == "RGB":
            shutil.copyfile(src, dst)
        else:
            img.convert("RGB").save(dst, format="JPEG", quality=95, subsampling=0)


def _grey_jpeg(src: Path, dst: Path) -> None:
    """A 0/255 mask as a single-channel JPEG (VITON-HD's cloth-mask: its loader reads one channel, >= 128)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as img:
        mask = np.asarray(img.convert("L")) >= 128
    Image.fromarray(mask.view(np.uint8) * np.uint8(255), mode="L").save(dst, format="JPEG", quality=95)


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _ids_png(ids: np.ndarray, dst: Path) -> None:
    """A one-channel PNG whose pixel values are ids (DressCode label maps and DensePose part maps)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ids.astype(np.uint8), mode="L").save(dst, format="PNG", compress_level=1)


def _missing(row: dict, needs: dict[str, str], src: Path) -> str | None:
    """The first needed column that is empty or whose file is absent, else None."""
    for col in needs:
        value = row.get(col)
        if not isinstance(value, str) or not (src / value).is_file():
            return col
    return None


def _write_list(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


@dataclass
class UnpairedTally:
    """Where the unpaired lines of an export came from, summed over categories."""

    published: int = 0
    rule: int = 0
    own: int = 0  # a lone test person: listed with their own garment, there being no other

    def notes(self) -> list[str]:
        """Report lines (none when there were no test persons)."""
        if not (self.published or self.rule or self.own):
            return []
        out = [f"unpaired lists: {self.published} line(s) from the published unpaired lists, "
               f"{self.rule} by the next-person rule"]
        if self.own:
            out.append(f"{self.own} test person(s) with no other exported garment in their category are listed "
                       "with their own garment in the unpaired list")
        return out


def _unpaired_lines(test: pd.DataFrame, person_name, garment_name, tally: UnpairedTally) -> list[str]:
    """'<person> <garment>' unpaired lines for one category's exported test rows (sorted by sample id)."""
    partners = unpaired_partners(test, test)
    lines = []
    for sid in test["sample_id"].astype(str):
        garment, published = partners.get(sid, (sid, False))
        tally.published += published
        tally.own += garment == sid
        tally.rule += garment != sid and not published
        lines.append(f"{person_name(sid)} {garment_name(garment)}")
    return lines


def export_dataset(dataset_dir: str | Path, out: str | Path, fmt: str) -> ExportReport:
    """Write the ok samples of `dataset_dir` into `out` in format `fmt`; the report says what was skipped."""
    if fmt not in FORMATS:
        raise ConfigError(f"export format {fmt!r}: must be one of {list(FORMATS)}")
    src, out = Path(dataset_dir), Path(out)
    df = read_manifest(src)
    report = ExportReport(fmt, out)
    quarantined = int((df["status"] != "ok").sum())
    if quarantined:
        report.skipped["quarantined in the manifest"] = quarantined
    ok = df[df["status"] == "ok"].sort_values("sample_id", kind="stable")
    (export_viton_hd if fmt == "viton-hd" else export_dresscode)(ok, src, out, report)
    return report


def export_viton_hd(ok: pd.DataFrame, src: Path, out: Path, report: ExportReport) -> None:
    """The VITON-HD layout: tops only, single-channel cloth masks, test_pairs.txt unpaired as published."""
    done = []
    for r in progress(ok.to_dict("records"), desc="export viton-hd", unit="sample"):
        if r["category"] != "upper_body":
            report.skipped[f"category {r['category']} (VITON-HD holds tops only)"] += 1
            continue
        if (col := _missing(r, VITON_HD_NEEDS, src)) is not None:
            report.skipped[f"no {VITON_HD_NEEDS[col]} file ({col} empty or absent)"] += 1
            continue
        sid, base = r["sample_id"], out / r["split"]
        _photo(src / r["person_path"], base / "image" / f"{sid}_00.jpg")
        _photo(src / r["garment_path"], base / "cloth" / f"{sid}_00.jpg")
        _grey_jpeg(src / r["cloth_mask_path"], base / "cloth-mask" / f"{sid}_00.jpg")
        _copy(src / r["parse_path"], base / "image-parse-v3" / f"{sid}_00.png")
        _copy(src / r["keypoints_path"], base / "openpose_json" / f"{sid}_00_keypoints.json")
        _copy(src / r["pose_render_path"], base / "openpose_img" / f"{sid}_00_rendered.png")
        if isinstance(r.get("agnostic_path"), str):
            _photo(src / r["agnostic_path"], base / "agnostic-v3.2" / f"{sid}_00.jpg")
        if isinstance(r.get("agnostic_mask_path"), str):
            _copy(src / r["agnostic_mask_path"], base / "agnostic-mask" / f"{sid}_00_mask.png")
        if isinstance(r.get("densepose_path"), str):
            _photo(src / r["densepose_path"], base / "image-densepose" / f"{sid}_00.jpg")
        report.exported[(r["category"], r["split"])] += 1
        done.append(r)
    rows = pd.DataFrame(done, columns=ok.columns)
    name = lambda sid: f"{sid}_00.jpg"  # noqa: E731
    train = rows[rows["split"] == "train"]["sample_id"].astype(str)
    test = rows[rows["split"] == "test"]
    _write_list(out / "train_pairs.txt", [f"{name(s)} {name(s)}" for s in train])
    tally = UnpairedTally()
    _write_list(out / "test_pairs.txt", _unpaired_lines(test, name, name, tally))
    report.notes += tally.notes()
    _write_list(out / "test_pairs_paired.txt", [f"{name(s)} {name(s)}" for s in test["sample_id"].astype(str)])


def export_dresscode(ok: pd.DataFrame, src: Path, out: Path, report: ExportReport) -> None:
    """The DressCode layout: per-category and root lists, label ids, DensePose ids and uv when it ran."""
    done, no_dense = [], 0
    for r in progress(ok.to_dict("records"), desc="export dresscode", unit="sample"):
        if (col := _missing(r, DRESSCODE_NEEDS, src)) is not None:
            report.skipped[f"no {DRESSCODE_NEEDS[col]} file ({col} empty or absent)"] += 1
            continue
        labels = dresscode_labels(src, r)
        if labels is None:
            report.skipped["no human parse for label_maps (parse_atr_path and parse_path empty)"] += 1
            continue
        sid, base = r["sample_id"], out / r["category"]
        person = src / r["person_path"]
        _photo(person, base / "images" / f"{sid}_0.jpg")
        _photo(src / r["garment_path"], base / "images" / f"{sid}_1.jpg")
        with Image.open(person) as img:
            size = img.size
        doc = dresscode_keypoints(json.loads((src / r["keypoints_coco18_path"]).read_text()), size)
        (base / "keypoints").mkdir(parents=True, exist_ok=True)
        (base / "keypoints" / f"{sid}_2.json").write_text(json.dumps(doc, separators=(",", ":")))
        _ids_png(labels, base / "label_maps" / f"{sid}_4.png")
        _photo(src / r["pose_render_path"], base / "skeletons" / f"{sid}_5.jpg")
        if isinstance(r.get("cloth_mask_path"), str):
            _copy(src / r["cloth_mask_path"], base / "masks" / f"{sid}_1.png")
        if isinstance(r.get("densepose_iuv_path"), str):
            parts, uv = densepose_parts_uv(src / r["densepose_iuv_path"])
            _ids_png(parts, base / "dense" / f"{sid}_5.png")
            np.savez_compressed(base / "dense" / f"{sid}_5_uv.npz", uv=uv)
        else:
            no_dense += 1
        report.exported[(r["category"], r["split"])] += 1
        done.append(r)
    if no_dense:
        report.notes.append(f"dense/ not written for {no_dense} sample(s): DensePose did not run "
                            "(annotate.densepose); DressCode's dataset class reads dense/ for every sample")
    rows = pd.DataFrame(done, columns=ok.columns)
    if rows.empty:
        return
    name = lambda sid: f"{sid}_0.jpg"  # noqa: E731
    garment = lambda sid: f"{sid}_1.jpg"  # noqa: E731
    root_lists: dict[str, list[str]] = {filename: [] for filename in DRESSCODE_LISTS}
    tally = UnpairedTally()
    for category in CATEGORIES:
        cat = rows[rows["category"] == category]
        if cat.empty:
            continue  # no empty category folders
        train = cat[cat["split"] == "train"]["sample_id"].astype(str)
        test = cat[cat["split"] == "test"]
        lists = {
            "train_pairs.txt": [f"{name(s)} {garment(s)}" for s in train],
            "test_pairs_paired.txt": [f"{name(s)} {garment(s)}" for s in test["sample_id"].astype(str)],
            "test_pairs_unpaired.txt": _unpaired_lines(test, name, garment, tally),
        }
        for filename, lines in lists.items():
            _write_list(out / category / filename, lines)
            root_lists[filename] += [f"{line} {category}" for line in lines]
    for filename, lines in root_lists.items():
        _write_list(out / filename, lines)
    report.notes += tally.notes()


def dresscode_keypoints(doc: dict, size: tuple[int, int]) -> dict:
    """COCO-18 keypoints moved from the person image's frame (`size`: width, height) into DressCode's 384 x 512."""
    sx, sy = DRESSCODE_FRAME[0] / size[0], DRESSCODE_FRAME[1] / size[1]
    return {"keypoints": [[round(x * sx, 3), round(y * sy, 3), c, i] for x, y, c, i in doc["keypoints"]]}


def densepose_parts_uv(iuv_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(part ids H x W uint8, uv 2 x H x W float32 in [0, 1]) from an IUV dump (R = part, G/B = U/V x 255)."""
    with Image.open(iuv_path) as img:
        iuv = np.asarray(img.convert("RGB"))
    uv = np.stack([iuv[..., 1], iuv[..., 2]]).astype(np.float32) / 255.0
    return iuv[..., 0].copy(), uv


def dresscode_labels(src: Path, r: dict) -> np.ndarray | None:
    """DressCode label map: the ATR parse when SCHP wrote one, else the LIP parse mapped to ATR ids."""
    for col, table in (("parse_atr_path", None), ("parse_path", LIP_TO_DRESSCODE)):
        if isinstance(r.get(col), str) and (src / r[col]).is_file():
            with Image.open(src / r[col]) as img:
                ids = np.asarray(img)
            return ids if table is None else table[ids]
    return None
