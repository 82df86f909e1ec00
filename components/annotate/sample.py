"""Everything for one sample after its person is annotated: garment frame and mask, parse, agnostic mask
and image, measurements, and the VITON-HD files. No model runs here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from components.annotate import layout
from components.annotate.agnostic import (
    GARMENT_LABELS,
    agnostic_image,
    agnostic_mask,
    agnostic_mask_sources,
    labels_in,
)
from components.annotate.annotators import parse_for_category, provider_of
from components.annotate.cloth_mask import cloth_mask
from components.annotate.frame import PAD_RGB, Letterbox, letterbox, solid
from components.annotate.keypoints import dresscode_json, openpose_json, render_skeleton, write_json
from components.annotate.maps import BodyMaps
from components.annotate.measure import body_measurements, garment_measurements, keypoint_stats, size_ratios
from components.annotate.params import AnnotateParams
from components.errors import Quarantine
from components.fit.columns import ratio_columns, worn_region
from components.fit.ratios import FitRatios, worn_fit_ratios


@dataclass
class SampleTask:
    """What a worker needs to finish one sample (paths absolute)."""

    sample_id: str
    category: str
    split: str
    person_file: str
    garment_file: str | None  # None: a plain photo folder; the garment is cut from the person (worn garment)
    person_key: str
    sample_key: str
    person_sha256: str | None = None  # the bytes person_key was computed from: the worker checks it decodes those
    cloth_mask_file: str | None = None  # the garment's cloth mask as the source gave it; None: derived here


def garment_frame(task: SampleTask, settings: AnnotateParams, frame: np.ndarray, maps: BodyMaps) -> tuple[np.ndarray, np.ndarray]:
    """(cloth RGB, cloth mask) in the output frame; for photo folders, the worn garment cut out by the parse."""
    if task.garment_file is None:
        if maps.parse_lip is None:
            raise Quarantine("no garment image and no parse to cut the worn garment from")
        worn = labels_in(maps.parse_lip, GARMENT_LABELS[task.category])
        if not worn.any():
            raise Quarantine(f"no {task.category} garment found on the person to cut out")
        cloth = solid(*frame.shape[:2], PAD_RGB)
        cv2.copyTo(frame, worn.view(np.uint8), cloth)  # ~100x faster than boolean-index assignment
        return cloth, worn
    try:
        with Image.open(task.garment_file) as img:
            size = img.size
            cloth, content, box = letterbox(img, settings.width, settings.height)
    except OSError as exc:
        raise Quarantine(f"garment image unreadable: {exc}") from None
    if task.cloth_mask_file is not None:
        inner = given_cloth_mask(task.cloth_mask_file, size, (box.x1 - box.x0, box.y1 - box.y0))
    else:
        # Segment the photo itself: the white letterbox padding would hide a coloured backdrop's colour.
        inner = cloth_mask(content, settings.cloth_mask)
    mask = np.zeros((settings.height, settings.width), bool)
    mask[box.y0:box.y1, box.x0:box.x1] = inner
    return cloth, mask


def given_cloth_mask(path: str, garment_size: tuple[int, int], content_size: tuple[int, int]) -> np.ndarray:
    """The source's cloth mask of a garment of `garment_size`, scaled as the garment was (to `content_size`)."""
    try:
        with Image.open(path) as img:
            if img.size != garment_size:
                raise Quarantine(f"cloth mask {path} is {img.size[0]}x{img.size[1]}, its garment "
                                 f"{garment_size[0]}x{garment_size[1]}: re-run `vton data import`")
            grey = img.convert("L")
    except OSError as exc:
        raise Quarantine(f"cloth mask unreadable: {exc}") from None
    if grey.size != content_size:
        grey = grey.resize(content_size, Image.Resampling.BILINEAR)
    return np.asarray(grey) >= 128


def write_now(writer: Callable, *args) -> None:
    """The default file writer of render_sample: call `writer(*args)` here and now."""
    writer(*args)


def render_sample(task: SampleTask, frame: np.ndarray, box: Letterbox, maps: BodyMaps, settings: AnnotateParams,
                  out_dir: Path, versions: dict[str, str], write: Callable = write_now) -> tuple[dict, list[str]]:
    """Write one sample's layout files; return (manifest row updates, relative files written).

    Every file goes through `write(writer, data, path)`; the engine passes one that queues it on a thread
    pool, so encoding overlaps the next image's inference (and must wait for those writes before it
    records the sample as finished). The arrays handed over are never modified afterwards.
    """
    cloth, cmask = garment_frame(task, settings, frame, maps)
    valid = None if box.fills_frame else box.region()  # off the padding; no padding: nothing to clear
    mask = agnostic_mask(task.category, maps, settings.mask, shape=frame.shape[:2], valid=valid)
    kp = maps.keypoints_body25
    rel = {col: layout.path_for(col, task.split, task.sample_id) for col in layout.PATHS}
    files = []

    def out(col: str) -> Path:
        files.append(rel[col])
        return out_dir / rel[col]

    write(layout.save_image, frame, out("person_path"))
    write(layout.save_image, cloth, out("garment_path"))
    write(layout.save_mask, cmask, out("cloth_mask_path"))
    write(write_json, openpose_json(kp), out("keypoints_path"))
    write(write_json, dresscode_json(kp), out("keypoints_coco18_path"))
    write(layout.save_png, render_skeleton(kp, frame.shape[1], frame.shape[0]), out("pose_render_path"))
    write(layout.save_mask, maps.person_mask, out("person_mask_path"))
    write(layout.save_mask, mask, out("agnostic_mask_path"))
    write(layout.save_image, agnostic_image(frame, mask), out("agnostic_path"))
    parser = provider_of(settings, "parse_lip") if maps.parse_lip is not None else None
    parsing_source = parser[0] if parser is not None else None
    parse = parse_for_category(settings, maps.parse_lip, task.category) if parser is not None else None
    if parse is not None:
        write(layout.save_labels, parse, out("parse_path"))
    if maps.parse_atr is not None:
        write(layout.save_labels, maps.parse_atr, out("parse_atr_path"))
    if maps.densepose_parts is not None:
        write(layout.save_png, layout.render_densepose(maps.densepose_parts), out("densepose_path"))
        write(layout.save_png, layout.densepose_image(maps.densepose_parts, maps.densepose_uv), out("densepose_iuv_path"))

    body = body_measurements(kp, maps.person_mask)
    garment = garment_measurements(cmask)
    # The garment as worn in this photo (for an unpaired row: the person's own garment of the category).
    worn = worn_region(task.category, parse)
    fit = worn_fit_ratios(task.category, worn, kp, maps.person_mask) if worn is not None else FitRatios.unmeasured()
    row = {col: rel[col] for col in layout.PATHS if rel[col] in files}
    row.update(
        status="ok",
        quarantine_reason=None,
        parsing_source=parsing_source,
        mask_sources=agnostic_mask_sources(maps),
        annotator_versions=json.dumps(versions, sort_keys=True),
        n_people=float(maps.n_people or 1),
        pose_attempt=maps.pose_attempt,
        person_mask_area=float(np.count_nonzero(maps.person_mask)),  # == .sum(), ~10x faster on bool maps
        cloth_mask_area=float(np.count_nonzero(cmask)),
        agnostic_mask_area=float(np.count_nonzero(mask)),
        **keypoint_stats(kp), **body, **garment, **size_ratios(task.category, body, garment),
        **ratio_columns(fit),
    )
    return row, files
