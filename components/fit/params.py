"""params.yaml `fit`: the worn-fit label thresholds per category and the size-augmentation limits.

Defaults come from the bundled sample (data/raw/sample) annotated with the smoke profile (pose-geometry parse):
worn width ratios upper_body 1.15-1.17, lower_body 1.62-1.80, dresses 1.38-1.44, every person there in an
everyday fit, so each category's fitted band is centred on those figures, about +-11% wide (README "Garment fit").
"""

from __future__ import annotations

from pydantic import Field, model_validator

from components.config.base import Section

FIT_CATEGORIES: tuple[str, ...] = ("upper_body", "lower_body", "dresses")


class FitThresholds(Section):
    """One category's bands on the worn width ratio, and the length and span a requested fit is drawn with."""

    tight_below: float = Field(gt=0)  # width ratio below this: tight
    loose_above: float = Field(gt=0)  # above this: loose; in between: fitted
    typical_length: float = Field(gt=0)  # the worn length ratio of a fitted garment (the sample's median)
    typical_span: float = Field(gt=0)  # the worn span ratio of a fitted garment (the sample's median)

    @model_validator(mode="after")
    def _ordered(self) -> "FitThresholds":
        if not self.tight_below < self.loose_above:
            raise ValueError(f"tight_below ({self.tight_below}) must be below loose_above ({self.loose_above})")
        return self


class ScaleRange(Section):
    """The range a size variant's garment scale is drawn from (1.0: unchanged), per axis."""

    width: tuple[float, float] = (0.85, 1.25)
    length: tuple[float, float] = (0.95, 1.1)

    @model_validator(mode="after")
    def _ordered(self) -> "ScaleRange":
        for name in ("width", "length"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be [low, high] with 0 < low <= high, got {[lo, hi]}")
        return self


def _check_categories(mapping: dict, key: str) -> None:
    unknown = sorted(set(mapping) - set(FIT_CATEGORIES))
    missing = sorted(set(FIT_CATEGORIES) - set(mapping))
    if unknown or missing:
        raise ValueError(f"{key} must name exactly {list(FIT_CATEGORIES)}: unknown {unknown}, missing {missing}")


def _default_thresholds() -> dict[str, FitThresholds]:
    return {
        "upper_body": FitThresholds(tight_below=1.05, loose_above=1.30, typical_length=1.38, typical_span=1.23),
        "lower_body": FitThresholds(tight_below=1.55, loose_above=1.95, typical_length=1.21, typical_span=1.78),
        "dresses": FitThresholds(tight_below=1.25, loose_above=1.60, typical_length=1.18, typical_span=1.23),
    }


def _default_scales() -> dict[str, ScaleRange]:
    return {
        "upper_body": ScaleRange(width=(0.85, 1.25), length=(0.95, 1.1)),
        "lower_body": ScaleRange(width=(0.85, 1.2), length=(1.0, 1.0)),  # trousers end at the ankles either way
        "dresses": ScaleRange(width=(0.85, 1.25), length=(0.95, 1.05)),
    }


class SizeAugmentParams(Section):
    """Size augmentation (augment stage): paired samples with the garment rescaled relative to the body."""

    enabled: bool = False
    variants_per_sample: int = Field(default=1, ge=1)
    scale: dict[str, ScaleRange] = Field(default_factory=_default_scales)
    # Each draw is pushed at least this far from 1.0 in width, so a variant's fit really differs from its parent's.
    min_width_change: float = Field(default=0.08, ge=0.0, lt=1.0)
    # The agnostic mask grows by this many pixels around the resized garment (annotate.mask.dilate_px's default).
    agnostic_margin_px: int = Field(default=9, ge=0)

    @model_validator(mode="after")
    def _known(self) -> "SizeAugmentParams":
        _check_categories(self.scale, "fit.size_augment.scale")
        return self


class FitParams(Section):
    """Worn-fit labels and size augmentation."""

    thresholds: dict[str, FitThresholds] = Field(default_factory=_default_thresholds)
    size_augment: SizeAugmentParams = SizeAugmentParams()

    @model_validator(mode="after")
    def _known(self) -> "FitParams":
        _check_categories(self.thresholds, "fit.thresholds")
        return self

    def for_category(self, category: str) -> FitThresholds:
        """The thresholds of `category` (KeyError naming the known ones otherwise)."""
        try:
            return self.thresholds[category]
        except KeyError:
            raise KeyError(f"fit.thresholds has no category {category!r} (it has {sorted(self.thresholds)})") from None
