"""Completeness: every ok sample carries its images, annotations and statistics (facts.REQUIRED_COLUMNS, plus
DensePose where the profile requires it), and the files are there and decode."""

from __future__ import annotations

import great_expectations.expectations as gxe

from components.validate.params import ValidateParams


def expectations(params: ValidateParams) -> list[tuple[str, object]]:
    """(table, expectation) pairs of the completeness suite."""
    out: list[tuple[str, object]] = [("samples", gxe.ExpectColumnValuesToBeNull(
        column="missing_annotations", meta={"rule": "completeness.annotations_present"}))]
    out.append(("samples", gxe.ExpectColumnValuesToBeNull(
        column="missing_files", meta={"rule": "completeness.files_exist"})))
    out.append(("samples", gxe.ExpectColumnValuesToBeNull(
        column="decode_error", meta={"rule": "completeness.files_decode"})))
    return out
