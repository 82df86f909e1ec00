"""Geometry: image sizes and aspect, keypoints, mask areas per category, garment mask not filling the frame."""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from components.validate.params import ValidateParams


def expectations(params: ValidateParams) -> list[tuple[str, object]]:
    """(table, expectation) pairs of the geometry suite."""
    g = params.geometry
    size = {"rule": "geometry.image_size"}
    out: list[tuple[str, object]] = []
    for who, (lo, hi) in (("person", g.person_aspect), ("garment", g.garment_aspect)):
        out.append(("samples", gxe.ExpectColumnValuesToBeBetween(column=f"{who}_min_side", min_value=g.min_side, meta=size)))
        out.append(("samples", gxe.ExpectColumnValuesToBeBetween(column=f"{who}_aspect", min_value=lo, max_value=hi, meta=size)))
    out.append(("samples", gxe.ExpectColumnValuesToBeBetween(
        column="keypoint_count", min_value=g.min_keypoints, meta={"rule": "geometry.keypoint_count"})))
    out.append(("samples", gxe.ExpectColumnValuesToBeBetween(
        column="keypoint_confidence_mean", min_value=g.min_keypoint_confidence,
        meta={"rule": "geometry.keypoint_confidence"})))
    out.append(("samples", gxe.ExpectColumnValuesToBeNull(
        column="missing_joints", meta={"rule": "geometry.required_keypoints"})))
    area = {"rule": "geometry.mask_area"}
    for name, bounds in (("cloth_mask", g.cloth_mask_area), ("agnostic_mask", g.agnostic_mask_area)):
        for cat, (lo, hi) in sorted(bounds.items()):
            out.append(("samples", gxe.ExpectColumnValuesToBeBetween(
                column=f"{name}_fraction", min_value=lo, max_value=hi,
                row_condition=Column("category") == cat, meta=area)))
    out.append(("samples", gxe.ExpectColumnValuesToBeBetween(
        column="cloth_mask_border_sides", max_value=g.max_cloth_mask_border_sides,
        meta={"rule": "geometry.cloth_mask_border"})))
    return out
