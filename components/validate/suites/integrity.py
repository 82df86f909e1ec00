"""Integrity: unique ids and contents, no train/test leakage (near-duplicates, augmented copies), provenance."""

from __future__ import annotations

import great_expectations.expectations as gxe

from components.validate.params import ValidateParams


def expectations(params: ValidateParams) -> list[tuple[str, object]]:
    """(table, expectation) pairs of the integrity suite."""
    prov = {"rule": "integrity.provenance"}
    return [
        ("rows", gxe.ExpectColumnValuesToBeUnique(column="sample_id", meta={"rule": "integrity.unique_ids"})),
        ("samples", gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["person_sha256", "garment_sha256", "category"], meta={"rule": "integrity.unique_content"})),
        ("samples", gxe.ExpectColumnValuesToBeNull(column="person_leak", meta={"rule": "integrity.person_leakage"})),
        ("samples", gxe.ExpectColumnValuesToBeNull(column="garment_leak", meta={"rule": "integrity.garment_leakage"})),
        ("samples", gxe.ExpectColumnValuesToBeNull(
            column="augmented_test_parent", meta={"rule": "integrity.augmented_leakage"})),
        ("rows", gxe.ExpectColumnValuesToNotBeNull(column="source", meta=prov)),
        ("rows", gxe.ExpectColumnValuesToNotBeNull(column="origin", meta=prov)),
        ("rows", gxe.ExpectColumnValuesToNotBeInSet(
            column="licence", value_set=list(params.integrity.unknown_licences), meta=prov)),
    ]
