"""The person representation the baseline families read (VITON-HD / CP-VTON style), as tensors at one size.

    agnostic       3   the person with the agnostic mask filled grey (VITON-HD agnostic-v3.2), [-1, 1]
    pose          18   COCO-18 keypoint heatmaps (Gaussians), [0, 1]; a missing point is an empty channel
    parse         20   LIP parsing one-hot, with the region under the agnostic mask cleared except face and
                       hair (otherwise the parse carries the worn garment's outline, which a paired trainer
                       would copy and an unpaired try-on cannot have)
    body_mask      1   person / body-shape mask
    garment        3   the garment image, [-1, 1];  cloth_mask 1: its mask
    target         3   the person photo itself (the paired ground truth), [-1, 1]
    worn_mask      1   the garment the person wears, from the parse by category (GMM's warp target)
    agnostic_mask  1   the region to repaint (1)
    fit_ratios     3   (not a map) the worn garment's fit ratios (components/fit: width, length, span; NaN unknown),
                       what size conditioning (families/size.py) reads with the worn region

`representation()` is the 41-channel stack agnostic + pose + parse. Samples come from the manifest's files
(`load_sample_inputs`) or from a bare photo annotated on the fly with the configured annotators
(`inputs_from_photo`), so training and serving build the same tensors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from components.annotate.agnostic import GARMENT_LABELS, PROTECTED_LABELS, labels_in
from components.train.families.size import ratios_tensor

POSE_CHANNELS = 18
PARSE_CHANNELS = 20
REPRESENTATION_CHANNELS = 3 + POSE_CHANNELS + PARSE_CHANNELS  # 41
GREY = 128  # the agnostic fill, VITON-HD's grey
POSE_SIGMA = 0.02  # heatmap Gaussian sigma as a fraction of the image height


@dataclass
class PersonInputs:
    """One sample's tensors at (w, h); CxHxW float32. `frame_box` is where the photo sits in the frame (0-1)."""

    agnostic: torch.Tensor
    pose: torch.Tensor
    parse: torch.Tensor
    body_mask: torch.Tensor
    garment: torch.Tensor
    cloth_mask: torch.Tensor
    target: torch.Tensor
    worn_mask: torch.Tensor
    agnostic_mask: torch.Tensor
    category: str = "upper_body"
    frame_box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    fit_ratios: tuple[float, float, float] | None = None  # of the worn garment (the manifest's, or measured)

    def representation(self) -> torch.Tensor:
        """The 41-channel person representation: agnostic RGB, pose heatmaps, agnostic LIP parse."""
        return torch.cat([self.agnostic, self.pose, self.parse], dim=0)

    @property
    def size(self) -> tuple[int, int]:
        """(w, h)."""
        return int(self.target.shape[-1]), int(self.target.shape[-2])


TENSOR_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PersonInputs)
                                       if f.name not in ("category", "frame_box", "fit_ratios"))


def collate_inputs(items: list[PersonInputs]) -> dict[str, torch.Tensor]:
    """A batch: every tensor field stacked (BxCxHxW) plus `representation` and the category names."""
    out = {name: torch.stack([getattr(it, name) for it in items]) for name in TENSOR_FIELDS}
    out["representation"] = torch.cat([out["agnostic"], out["pose"], out["parse"]], dim=1)
    out["categories"] = [it.category for it in items]  # type: ignore[assignment]
    out["fit_ratios"] = ratios_tensor([it.fit_ratios for it in items])
    return out


# -- pure maps -------------------------------------------------------------------------------------------------
def rgb_tensor(image: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """An RGB image resized to (w, h) as 3xHxW in [-1, 1]."""
    arr = np.asarray(image.convert("RGB").resize(size, Image.BICUBIC), dtype=np.float32)
    return torch.from_numpy(arr / 127.5 - 1.0).permute(2, 0, 1).contiguous()


def mask_tensor(mask: np.ndarray | Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """A mask (bool array or L image, > 127 = on) resized nearest to (w, h) as 1xHxW in {0, 1}."""
    img = mask if isinstance(mask, Image.Image) else Image.fromarray(np.asarray(mask, bool).view(np.uint8) * 255)
    arr = np.asarray(img.convert("L").resize(size, Image.NEAREST)) > 127
    return torch.from_numpy(arr.astype(np.float32))[None]


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A label map resized nearest to (w, h)."""
    return np.asarray(Image.fromarray(labels.astype(np.uint8)).resize(size, Image.NEAREST))


def pose_heatmaps(coco18: np.ndarray, source_size: tuple[int, int], size: tuple[int, int],
                  sigma: float = POSE_SIGMA) -> torch.Tensor:
    """18xHxW Gaussian heatmaps of COCO-18 keypoints (x, y, confidence in `source_size` pixels) at (w, h)."""
    w, h = size
    sx, sy = w / source_size[0], h / source_size[1]
    s = max(sigma * h, 0.75)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((POSE_CHANNELS, h, w), np.float32)
    for i, (x, y, c) in enumerate(np.asarray(coco18, np.float32)[:POSE_CHANNELS]):
        if c > 0:
            cx, cy = (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5
            out[i] = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s))
    return torch.from_numpy(out)


def agnostic_parse(labels: np.ndarray, agnostic_mask: np.ndarray) -> np.ndarray:
    """The parse with the repainted region cleared to background, except face, hair, hat and sunglasses."""
    out = labels.copy()
    out[agnostic_mask & ~labels_in(labels, PROTECTED_LABELS)] = 0
    return out


def parse_onehot(labels: np.ndarray) -> torch.Tensor:
    """20xHxW one-hot of LIP ids (ids >= 20 count as background)."""
    lab = torch.from_numpy(np.where(labels < PARSE_CHANNELS, labels, 0).astype(np.int64))
    return torch.nn.functional.one_hot(lab, PARSE_CHANNELS).permute(2, 0, 1).float()


def build_inputs(person: np.ndarray, garment: np.ndarray, cloth: np.ndarray, agnostic_mask: np.ndarray,
                 coco18: np.ndarray | None, parse: np.ndarray | None, body_mask: np.ndarray | None,
                 category: str, size: tuple[int, int],
                 frame_box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
                 fit_ratios: tuple[float, float, float] | None = None) -> PersonInputs:
    """PersonInputs at (w, h) from full-resolution arrays of one frame (person HxWx3, masks HxW bool)."""
    h0, w0 = person.shape[:2]
    small_mask = np.asarray(Image.fromarray(agnostic_mask.view(np.uint8) * 255).resize(size, Image.NEAREST)) > 127
    if parse is not None:
        small_parse = resize_labels(parse, size)
        worn = labels_in(small_parse, GARMENT_LABELS[category])
        parse_t = parse_onehot(agnostic_parse(small_parse, small_mask))
    else:  # no parse: no parse channels, and the worn garment is approximated by the repainted body region
        worn = small_mask & (mask_tensor(body_mask, size)[0].numpy() > 0 if body_mask is not None else True)
        parse_t = torch.zeros(PARSE_CHANNELS, size[1], size[0])
    target = rgb_tensor(Image.fromarray(person), size)
    # Grey-filled at the working size, so outside the mask the agnostic image is exactly the target photo.
    agnostic = torch.where(torch.from_numpy(small_mask)[None], torch.tensor(GREY / 127.5 - 1.0), target)
    return PersonInputs(
        agnostic=agnostic,
        pose=(pose_heatmaps(coco18, (w0, h0), size) if coco18 is not None
              else torch.zeros(POSE_CHANNELS, size[1], size[0])),
        parse=parse_t,
        body_mask=mask_tensor(body_mask, size) if body_mask is not None else torch.zeros(1, size[1], size[0]),
        garment=rgb_tensor(Image.fromarray(garment), size),
        cloth_mask=mask_tensor(cloth, size),
        target=target,
        worn_mask=torch.from_numpy(np.asarray(worn, np.float32))[None],
        agnostic_mask=torch.from_numpy(small_mask.astype(np.float32))[None],
        category=category,
        frame_box=frame_box,
        fit_ratios=fit_ratios,
    )


# -- from files ------------------------------------------------------------------------------------------------
def read_coco18(path: Path) -> np.ndarray:
    """18x3 COCO-18 keypoints from a DressCode keypoints JSON or an OpenPose BODY_25 JSON."""
    from components.annotate.keypoints import coco18_from_body25

    doc = json.loads(Path(path).read_text())
    if "keypoints" in doc:
        pts = np.asarray([k[:3] for k in doc["keypoints"]], np.float32).reshape(-1, 3)
        return pts[:POSE_CHANNELS]
    people = doc.get("people") or []
    if not people:
        return np.zeros((POSE_CHANNELS, 3), np.float32)
    return coco18_from_body25(np.asarray(people[0]["pose_keypoints_2d"], np.float32).reshape(25, 3))


def _read_mask(path: Path | None, shape: tuple[int, int]) -> np.ndarray | None:
    if path is None:
        return None
    with Image.open(path) as im:
        img = im.convert("L")
    if img.size != (shape[1], shape[0]):
        img = img.resize((shape[1], shape[0]), Image.NEAREST)
    return np.asarray(img) > 127


def load_sample_inputs(sample, size: tuple[int, int]) -> PersonInputs:
    """PersonInputs of a TrainSample from its manifest files (annotations that are absent stay empty)."""
    with Image.open(sample.person) as p, Image.open(sample.garment) as g:
        person, garment = np.asarray(p.convert("RGB")), np.asarray(g.convert("RGB"))
    shape = person.shape[:2]
    mask = _read_mask(sample.mask, shape)
    cloth = _read_mask(getattr(sample, "cloth_mask", None), garment.shape[:2])
    if cloth is None:
        cloth = np.any(garment < 245, axis=2)  # no cloth mask: everything off the white backdrop
    parse = None
    if getattr(sample, "parse", None) is not None:
        with Image.open(sample.parse) as im:
            parse = np.asarray(im if im.mode in ("P", "L") else im.convert("L"))
        if parse.shape != shape:
            parse = resize_labels(parse, (shape[1], shape[0]))
    keypoints = read_coco18(sample.keypoints) if getattr(sample, "keypoints", None) is not None else None
    body = _read_mask(getattr(sample, "person_mask", None), shape)
    ratios = tuple(getattr(sample, "ratios", ()) or ())
    return build_inputs(person, garment, cloth, mask, keypoints, parse, body, sample.category, size,
                        fit_ratios=ratios if len(ratios) == 3 else None)


# -- from a bare photo -----------------------------------------------------------------------------------------
def inputs_from_photo(person: Image.Image, garment: Image.Image, mask: Image.Image | None, category: str,
                      size: tuple[int, int], annotate_params=None, annotators=None, photos=None) -> PersonInputs:
    """PersonInputs of a photo with no annotations: letterboxed and annotated like `vton annotate` does it.

    `mask` (the agnostic mask at the photo's size, white = repaint) wins over the annotators' own; pass
    `annotators` (build_annotators(annotate_params)) to reuse loaded models across calls, or `photos` (a
    components.annotate.photo_cache.PhotoAnnotator with the same settings) to annotate each distinct photo once.
    Raises ValueError when the photo cannot be annotated (no person found), naming the reason.
    """
    from components.annotate.agnostic import agnostic_mask
    from components.annotate.annotators import build_annotators, parse_for_category
    from components.annotate.cloth_mask import cloth_mask
    from components.annotate.frame import letterbox
    from components.annotate.keypoints import coco18_from_body25
    from components.annotate.params import AnnotateParams
    from components.annotate.person import annotate_person
    from components.errors import Quarantine

    settings = annotate_params or AnnotateParams()
    W, H = settings.width, settings.height
    try:
        if photos is not None:
            frame, maps, box = photos.annotate(person)
        else:
            frame, maps, box = annotate_person(person.convert("RGB"), annotators or build_annotators(settings), W, H)
        if mask is None:
            region = agnostic_mask(category, maps, settings.mask, valid=box.region())
        else:
            region = np.zeros((H, W), bool)
            inner = mask.convert("L").resize((box.x1 - box.x0, box.y1 - box.y0), Image.NEAREST)
            region[box.y0:box.y1, box.x0:box.x1] = np.asarray(inner) > 127
        g_frame, g_content, g_box = letterbox(garment, W, H)
        try:
            inner_cloth = cloth_mask(g_content, settings.cloth_mask)
        except Quarantine:
            inner_cloth = np.ones(g_content.shape[:2], bool)  # a garment filling its photo: all of it
        cloth = np.zeros((H, W), bool)
        cloth[g_box.y0:g_box.y1, g_box.x0:g_box.x1] = inner_cloth
    except Quarantine as exc:
        raise ValueError(f"cannot annotate this person photo: {exc.reason}") from None
    parse = parse_for_category(settings, maps.parse_lip, category)  # as annotate writes it for this category
    coco = coco18_from_body25(maps.keypoints_body25) if maps.keypoints_body25 is not None else None
    frac = (box.x0 / W, box.y0 / H, box.x1 / W, box.y1 / H)
    return build_inputs(frame, g_frame, cloth, region, coco, parse, maps.person_mask, category, size, frac,
                        fit_ratios=own_fit_ratios(category, parse, maps.keypoints_body25, maps.person_mask))


def own_fit_ratios(category: str, parse: np.ndarray | None, body25: np.ndarray | None,
                   person_mask: np.ndarray | None) -> tuple[float, float, float] | None:
    """The fit ratios of the garment the photo shows (its parse region, measured as annotate measures the worn
    region), or None when there is no parse or pose to measure it with."""
    if parse is None or body25 is None:
        return None
    from components.fit.columns import worn_region
    from components.fit.ratios import worn_fit_ratios

    worn = worn_region(category, parse)
    if worn is None or not worn.any():
        return None
    mask = person_mask if person_mask is not None else np.ones(parse.shape, bool)
    return tuple(float(v) for v in worn_fit_ratios(category, worn, np.asarray(body25, np.float32), mask).as_tuple())


# -- back to a photo -------------------------------------------------------------------------------------------
def tensor_image(x: torch.Tensor) -> Image.Image:
    """A 3xHxW tensor in [-1, 1] as an RGB PIL image."""
    arr = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(arr)


def frame_crop(img: Image.Image, frame_box: tuple[float, float, float, float]) -> Image.Image:
    """The part of a frame-sized image where the photo sits (`frame_box`, fractions of the frame)."""
    x0, y0, x1, y1 = frame_box
    if (x0, y0, x1, y1) == (0.0, 0.0, 1.0, 1.0):
        return img
    w, h = img.size
    return img.crop((round(x0 * w), round(y0 * h), max(round(x1 * w), round(x0 * w) + 1),
                     max(round(y1 * h), round(y0 * h) + 1)))


def to_photo(result: torch.Tensor, inputs: PersonInputs, person: Image.Image, mask: Image.Image | None = None
             ) -> Image.Image:
    """The generated frame mapped back onto the person photo: cropped to the photo, resized to its size,
    and (with `mask`) the photo's own pixels kept outside the repainted region."""
    img = frame_crop(tensor_image(result), inputs.frame_box).resize(person.size, Image.BICUBIC)
    if mask is not None:
        repaint = mask.convert("L").resize(person.size, Image.NEAREST).point(lambda v: 255 if v > 127 else 0)
        img = Image.composite(img, person.convert("RGB"), repaint)
    return img
