"""The named rules of the data-quality gate, one line each: what the report, the params and the tests call them.

Each rule is checked by one or more Great Expectations expectations (components/validate/suites/); its
severity (error | warn | off) is set per profile in params.yaml under `validate.severity`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One named data-quality rule."""

    name: str  # suite.rule, stable: params.yaml and metrics.json key on it
    suite: str
    description: str
    default_severity: str = "error"  # when params.yaml validate.severity does not name the rule


RULES: tuple[Rule, ...] = (
    Rule("completeness.annotations_present", "completeness",
         "every ok sample has person, garment, keypoints, parsing, agnostic mask, cloth mask (and DensePose "
         "where the profile requires it)"),
    Rule("completeness.files_exist", "completeness", "every file an ok sample names exists"),
    Rule("completeness.files_decode", "completeness", "image files decode (a sample of them, see decode_sample)"),
    Rule("geometry.image_size", "geometry", "person and garment images meet the minimum side and aspect ratio"),
    Rule("geometry.keypoint_count", "geometry", "enough keypoints were detected"),
    Rule("geometry.keypoint_confidence", "geometry", "mean keypoint confidence is above the threshold"),
    Rule("geometry.required_keypoints", "geometry", "the joints a category needs (e.g. hips, knees, ankles) are present"),
    Rule("geometry.mask_area", "geometry", "cloth and agnostic mask areas are within the category's bounds"),
    Rule("geometry.cloth_mask_border", "geometry", "the garment mask does not touch the image border on all sides"),
    Rule("distribution.samples_per_split", "distribution", "each category has enough ok samples in each split"),
    Rule("distribution.category_balance", "distribution", "no category is too small next to the largest"),
    Rule("distribution.test_fraction", "distribution", "each category's test share is within bounds"),
    Rule("distribution.quarantine_rate", "distribution", "each source's quarantine rate is below the threshold"),
    # A warning: one fit label everywhere is a property of the catalogue, but a size-aware model learns no sizes
    # from it (fit.size_augment widens the mix).
    Rule("distribution.fit_label_mix", "distribution",
         "each category's labelled ok samples hold more than one fit label (tight, fitted, loose)", "warn"),
    Rule("integrity.unique_ids", "integrity", "sample ids are unique"),
    Rule("integrity.unique_content", "integrity", "no two ok samples share person, garment and category hashes"),
    Rule("integrity.person_leakage", "integrity", "no train person is an exact or near duplicate of a test person"),
    Rule("integrity.garment_leakage", "integrity", "no train garment is an exact or near duplicate of a test garment"),
    Rule("integrity.augmented_leakage", "integrity", "no augmented copy of a test sample is in train"),
    Rule("integrity.provenance", "integrity", "every sample names its source, origin and licence"),
)

RULE_NAMES: tuple[str, ...] = tuple(r.name for r in RULES)
SUITES: tuple[str, ...] = ("completeness", "geometry", "distribution", "integrity")


def rule(name: str) -> Rule:
    """The rule called `name`."""
    for r in RULES:
        if r.name == name:
            return r
    raise KeyError(name)
