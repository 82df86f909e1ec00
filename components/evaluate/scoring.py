"""Generate a try-on for every pair with one model and score it: per-pair figures, then per-category sets.

Per pair: SSIM, PSNR and LPIPS against the ground truth (paired only), garment-region IoU and GFD against
the expected region (paired: the ground truth's garment region; unpaired: the person's own garment
region scaled by the garment-to-body ratios, clipped to the agnostic mask as the result's region is). Per
scope (each category and `overall`): the means, and FID/KID of the generated set against the ground-truth
photos with the counts they were computed on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from components.evaluate.fit import expected_unpaired_region, geometric_fit_deviation, mask_iou
from components.evaluate.garment_region import colour_centres, garment_pixels, garment_region
from components.evaluate.image_metrics import fid_kid, lpips_scores, psnr_scores, ssim_scores
from components.evaluate.networks import MetricNetworks
from components.evaluate.pairs import EvalPair
from components.evaluate.size_accuracy import measure_fit, requested_label, scaled_keypoints, size_accuracy
from components.progress import progress

# (pair, person, garment, agnostic mask) -> the person wearing the garment, any size.
Generator = Callable[[EvalPair, Image.Image, Image.Image, Image.Image], Image.Image]

OVERALL = "overall"


@dataclass
class PairScore:
    """The figures of one generated pair."""

    pair_id: str
    kind: str
    category: str
    person_id: str
    garment_id: str
    result: str  # file of the generated image
    ssim: float | None
    psnr: float | None
    lpips: float | None
    mask_iou: float | None  # None: the person's own garment is unknown (an unpaired row), so no expected region
    gfd: float | None
    expected_from_ratios: bool | None  # unpaired: whether both garment-to-body ratios were known
    requested_fit: str | None = None  # tight | fitted | loose the pair asks for (size_accuracy.py); None: unknown
    generated_fit: str | None = None  # the label of the generated garment, measured the same way
    generated_width_ratio: float | None = None  # its worn width ratio (the label's figure)

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return asdict(self)


@dataclass
class ScoredSet:
    """One model's results on the evaluation pairs: per-pair scores and the images FID/KID need."""

    scores: list[PairScore]
    results: dict[str, Image.Image]  # pair_id -> generated image at evaluation size
    ground_truth: dict[str, Image.Image]  # person_id -> ground-truth photo at evaluation size


def load_rgb(path: Path, size: tuple[int, int]) -> Image.Image:
    """An RGB image resized to (width, height)."""
    with Image.open(path) as im:
        return im.convert("RGB").resize(size, Image.BICUBIC)


def load_mask(path: Path | None, size: tuple[int, int]) -> Image.Image | None:
    """A binary mask (L, 0/255) resized to (width, height) with nearest neighbour, or None."""
    if path is None or not Path(path).is_file():
        return None
    with Image.open(path) as im:
        return im.convert("L").resize(size, Image.NEAREST).point(lambda v: 255 if v > 127 else 0)


def torso_pixels(pair: EvalPair, original_height: int, size: tuple[int, int], agnostic: np.ndarray) -> float:
    """Torso length at evaluation size: the manifest's (rescaled), else the agnostic mask's height, else H/3."""
    if pair.torso_length and pair.torso_length > 0:
        return pair.torso_length * size[1] / original_height
    ys = np.nonzero(agnostic)[0]
    if len(ys):
        return float(ys.max() - ys.min() + 1)
    return size[1] / 3.0


def score_model(
    pairs: Iterable[EvalPair],
    generate: Generator,
    networks: MetricNetworks,
    size: tuple[int, int],
    out_dir: Path,
    colour_tolerance: float = 20.0,
    label: str = "model",
    fit_thresholds=None,
) -> ScoredSet:
    """Generate every pair with `generate`, save the results under `out_dir`, and score them.

    `fit_thresholds` (params `fit`; its defaults when None) label the requested and the generated fit."""
    from components.fit.params import FitParams

    thresholds = fit_thresholds or FitParams()
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = list(pairs)
    scores: list[PairScore] = []
    results: dict[str, Image.Image] = {}
    truths: dict[str, Image.Image] = {}
    for pair in progress(pairs, total=len(pairs), desc=f"evaluate {label}", unit="pair"):
        with Image.open(pair.person) as im:
            person_full = im.convert("RGB")
        with Image.open(pair.garment) as im:
            garment_full = im.convert("RGB")
        with Image.open(pair.agnostic_mask) as im:
            mask_full = im.convert("L")
        result = generate(pair, person_full, garment_full, mask_full).convert("RGB").resize(size, Image.BICUBIC)
        person = person_full.resize(size, Image.BICUBIC)
        agnostic = load_mask(pair.agnostic_mask, size)
        agnostic_arr = np.asarray(agnostic) > 127
        torso = torso_pixels(pair, person_full.height, size, agnostic_arr)

        new_mask = load_mask(pair.garment_cloth_mask, garment_full.size)
        new_centres = colour_centres(garment_pixels(garment_full, new_mask))
        result_region = garment_region(result, agnostic, new_centres, colour_tolerance)
        truth_region = None
        if pair.own_garment is not None:
            with Image.open(pair.own_garment) as im:
                own_garment = im.convert("RGB")
            own_centres = colour_centres(garment_pixels(own_garment, load_mask(pair.own_cloth_mask, own_garment.size)))
            truth_region = garment_region(person, agnostic, own_centres, colour_tolerance)
        if truth_region is None:  # an unpaired row: no region to expect, so neither IoU nor GFD
            expected, from_ratios = None, None
            ssim = psnr = lpips = None
        elif pair.kind == "paired":
            expected, from_ratios = truth_region, None
            ssim = ssim_scores([result], [person])[0]
            psnr = psnr_scores([result], [person])[0]
            lpips = lpips_scores(networks.lpips, [result], [person])[0]
        else:
            scaled, from_ratios = expected_unpaired_region(
                truth_region, pair.own_width_ratio, pair.own_length_ratio, pair.new_width_ratio, pair.new_length_ratio
            )
            # The result's region can only be found inside the agnostic mask, so the expected one is cut the same
            # way: otherwise a longer garment's overhang would count as a miss no result could ever fill.
            expected = scaled & agnostic_arr
            ssim = psnr = lpips = None
        keypoints = scaled_keypoints(pair.keypoints, person_full.size, size)
        generated = measure_fit(pair.category, result_region, keypoints, thresholds)
        asked = requested_label(pair.category, pair.requested_ratios, thresholds)
        if keypoints is None:
            # Without the person's keypoints no result can be measured: the pair is not judged (n_size leaves
            # it out) rather than counted as a garment that missed its fit.
            asked = None
        elif pair.kind == "paired" and truth_region is not None:
            # The ground truth measured like the result: the extractor's bias cancels.
            asked = measure_fit(pair.category, truth_region, keypoints, thresholds).label or asked
        # JPEG: the figures use the in-memory image; PNG is kept for the grids the flow shows as artifacts.
        file = out_dir / f"{pair.pair_id.replace('/', '_')}.jpg"
        result.save(file, quality=95)
        results[pair.pair_id] = result
        truths.setdefault(pair.person_id, person)
        scores.append(
            PairScore(
                pair_id=pair.pair_id,
                kind=pair.kind,
                category=pair.category,
                person_id=pair.person_id,
                garment_id=pair.garment_id,
                result=str(file),
                ssim=ssim,
                psnr=psnr,
                lpips=lpips,
                mask_iou=None if expected is None else mask_iou(result_region, expected),
                gfd=None if expected is None else geometric_fit_deviation(result_region, expected, torso),
                expected_from_ratios=from_ratios,
                requested_fit=asked,
                generated_fit=generated.label,
                generated_width_ratio=generated.ratios.width if math.isfinite(generated.ratios.width) else None,
            )
        )
    return ScoredSet(scores, results, truths)


def _mean(values: list[float | None]) -> float:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def scope_metrics(
    scored: ScoredSet, networks: MetricNetworks, kid_subset_size: int = 50, split_sizes: dict[str, int] | None = None
) -> dict[str, dict[str, float]]:
    """Per-category and overall figures of one model: means of the pair figures plus FID/KID per kind.

    `split_sizes` (category -> usable persons in the whole test split) becomes `n_test_split`, so a reader can
    see whether FID/KID were computed on the full split or on a sample of it.
    """
    categories = sorted({s.category for s in scored.scores})
    out: dict[str, dict[str, float]] = {}
    for scope in [*categories, OVERALL]:
        chosen = [s for s in scored.scores if scope == OVERALL or s.category == scope]
        paired = [s for s in chosen if s.kind == "paired"]
        unpaired = [s for s in chosen if s.kind == "unpaired"]
        reals = [scored.ground_truth[pid] for pid in sorted({s.person_id for s in chosen})]
        figures: dict[str, float] = {
            "n_paired": float(len(paired)),
            "n_unpaired": float(len(unpaired)),
            "n_real": float(len(reals)),
            "ssim": _mean([s.ssim for s in paired]),
            "psnr": _mean([s.psnr for s in paired]),
            "lpips": _mean([s.lpips for s in paired]),
            "mask_iou_paired": _mean([s.mask_iou for s in paired]),
            "gfd_paired": _mean([s.gfd for s in paired]),
            "mask_iou_unpaired": _mean([s.mask_iou for s in unpaired]),
            "gfd_unpaired": _mean([s.gfd for s in unpaired]),
        }
        figures["size_accuracy"], n_size = size_accuracy([s.requested_fit for s in chosen],
                                                         [s.generated_fit for s in chosen])
        figures["n_size"] = float(n_size)
        if split_sizes is not None:
            wanted = list(split_sizes) if scope == OVERALL else [scope]
            figures["n_test_split"] = float(sum(split_sizes.get(c, 0) for c in wanted))
        for kind, members in (("paired", paired), ("unpaired", unpaired)):
            fakes = [scored.results[s.pair_id] for s in members]
            d = fid_kid(reals, fakes, networks.fid_feature, kid_subset_size)
            figures[f"fid_{kind}"], figures[f"kid_{kind}"] = d.fid, d.kid
            figures[f"kid_{kind}_std"], figures[f"kid_{kind}_subsets"] = d.kid_std, float(d.kid_subsets)
        out[scope] = figures
    return out
