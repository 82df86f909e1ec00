"""params.yaml section for the validate (data-quality gate) step: thresholds per suite and a severity per rule."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.config.base import Section
from components.validate.rules import RULE_NAMES, RULES, rule

Severity = Literal["error", "warn", "off"]
Category = Literal["upper_body", "lower_body", "dresses"]
Bounds = tuple[float, float]

BODY25 = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)


def _check_bounds(value: dict[str, Bounds]) -> dict[str, Bounds]:
    for key, (lo, hi) in value.items():
        if lo > hi:
            raise ValueError(f"{key}: lower bound {lo} is above upper bound {hi}")
    return value


class CompletenessParams(Section):
    """What every ok sample must carry, and how many files are opened to prove they decode."""

    require_densepose: bool = False
    # Files per image column that are fully decoded (a seeded sample): -1 all, 0 none. Existence is always
    # checked for every file (one directory listing per folder); decoding all of 100k samples takes minutes.
    decode_sample: int = Field(default=200, ge=-1)


class GeometryParams(Section):
    """Image sizes, keypoints and mask areas (areas are fractions of the annotate.width x height frame)."""

    min_side: int = Field(default=256, gt=0)
    person_aspect: Bounds = (0.5, 1.0)  # width / height
    garment_aspect: Bounds = (0.5, 1.0)
    min_keypoints: int = Field(default=10, ge=0, le=25)
    min_keypoint_confidence: float = Field(default=0.5, ge=0, le=1)
    required_keypoints: dict[Category, list[str]] = Field(
        default_factory=lambda: {
            "upper_body": ["Neck", "RShoulder", "LShoulder", "RHip", "LHip"],
            "lower_body": ["RHip", "LHip", "RKnee", "LKnee", "RAnkle", "LAnkle"],
            "dresses": ["RShoulder", "LShoulder", "RHip", "LHip", "RKnee", "LKnee"],
        }
    )
    cloth_mask_area: dict[Category, Bounds] = Field(
        default_factory=lambda: {"upper_body": (0.1, 0.9), "lower_body": (0.08, 0.9), "dresses": (0.1, 0.9)}
    )
    agnostic_mask_area: dict[Category, Bounds] = Field(
        default_factory=lambda: {"upper_body": (0.03, 0.7), "lower_body": (0.03, 0.7), "dresses": (0.05, 0.8)}
    )
    max_cloth_mask_border_sides: int = Field(default=3, ge=0, le=4)

    @field_validator("required_keypoints")
    @classmethod
    def _known_joints(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for cat, joints in value.items():
            unknown = sorted(set(joints) - set(BODY25))
            if unknown:
                raise ValueError(f"{cat}: unknown BODY_25 joints {unknown} (known: {list(BODY25)})")
        return value

    @field_validator("cloth_mask_area", "agnostic_mask_area")
    @classmethod
    def _ordered_area_bounds(cls, value: dict[str, Bounds]) -> dict[str, Bounds]:
        return _check_bounds(value)

    @field_validator("person_aspect", "garment_aspect")
    @classmethod
    def _ordered_aspect_bounds(cls, value: Bounds) -> Bounds:
        return _check_bounds({"aspect": value})["aspect"]


class DistributionParams(Section):
    """How many samples each category and split needs, and how many may be quarantined."""

    min_samples: dict[Literal["train", "test"], int] = Field(default_factory=lambda: {"train": 100, "test": 20})
    max_category_ratio: float = Field(default=10.0, ge=1.0)  # largest / smallest category (ok samples)
    test_fraction: Bounds = (0.05, 0.5)
    max_quarantine_rate: float = Field(default=0.2, ge=0.0, le=1.0)  # per source


class IntegrityParams(Section):
    """Duplicate and leakage checks."""

    # Perceptual hashes within this many bits (of 64) are the same image; resizing and re-encoding stay <= 4.
    # The search joins on d+1 bands of 64/(d+1) bits, so a larger d costs more candidate pairs.
    phash_max_distance: int = Field(default=4, ge=0, le=16)
    unknown_licences: list[str] = Field(default_factory=lambda: ["", "unknown"])


class ValidateParams(Section):
    """The data-quality gate: each rule's severity and the thresholds of the four suites."""

    severity: dict[str, Severity] = Field(default_factory=lambda: {r.name: r.default_severity for r in RULES})
    completeness: CompletenessParams = CompletenessParams()
    geometry: GeometryParams = GeometryParams()
    distribution: DistributionParams = DistributionParams()
    integrity: IntegrityParams = IntegrityParams()
    examples: int = Field(default=5, ge=1)  # sample ids named per failed rule in the summary
    thumbnails: int = Field(default=6, ge=0)  # failing samples pictured per rule in the report

    @model_validator(mode="after")
    def _known_rules(self) -> "ValidateParams":
        unknown = sorted(set(self.severity) - set(RULE_NAMES))
        if unknown:
            raise ValueError(f"severity: unknown rules {unknown} (known: {list(RULE_NAMES)})")
        return self

    def severity_of(self, name: str) -> Severity:
        """`name`'s severity; a rule params.yaml does not mention has its default (an error unless rules.py says)."""
        return self.severity.get(name, rule(name).default_severity)
