import pandas as pd
import pytest

from components.errors import DataContractError
from components.manifest.schema import (
    COLUMNS,
    MANIFEST_FILENAME,
    read_manifest,
    sample_id_for,
    write_manifest,
)


def _row(**over):
    row = {
        "sample_id": "a" * 16,
        "person_path": "person/a.png",
        "garment_path": "garment/a.png",
        "category": "upper_body",
        "split": "train",
        "status": "ok",
        "source": "unit",
        "licence": "CC0",
        "person_width": 384,
    }
    row.update(over)
    return row


def test_manifest_round_trips_with_every_schema_column(tmp_path):
    df = pd.DataFrame([_row(), _row(sample_id="b" * 16, status="quarantined", quarantine_reason="no person")])
    path = write_manifest(df, tmp_path)
    assert path.name == MANIFEST_FILENAME
    back = read_manifest(tmp_path)
    assert list(back.columns) == list(COLUMNS)
    assert back["sample_id"].tolist() == ["a" * 16, "b" * 16]
    assert back.loc[1, "quarantine_reason"] == "no person"
    assert int(back.loc[0, "person_width"]) == 384


def test_gender_is_a_nullable_string_column_that_round_trips(tmp_path):
    import pyarrow.parquet as pq

    df = pd.DataFrame([_row(gender="WOMEN"), _row(sample_id="b" * 16)])  # a source without gender: null
    write_manifest(df, tmp_path)
    field = pq.read_schema(tmp_path / MANIFEST_FILENAME).field("gender")
    assert str(field.type) == "string" and field.nullable
    gender = read_manifest(tmp_path)["gender"]
    assert gender[0] == "WOMEN" and pd.isna(gender[1])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (_row(category="hats"), "category"),
        (_row(split="val"), "split"),
        (_row(status="maybe"), "status"),
        (_row(status="quarantined"), "quarantine_reason"),
        (_row(person_path=None), "person_path"),
        (_row(licence=None), "licence"),
    ],
)
def test_rows_that_break_the_contract_are_refused_on_write(tmp_path, row, message):
    with pytest.raises(DataContractError, match=message):
        write_manifest(pd.DataFrame([row]), tmp_path)


def test_duplicate_sample_ids_are_refused(tmp_path):
    with pytest.raises(DataContractError, match="unique"):
        write_manifest(pd.DataFrame([_row(), _row()]), tmp_path)


def test_columns_outside_the_schema_are_refused(tmp_path):
    with pytest.raises(DataContractError, match="not in the manifest schema"):
        write_manifest(pd.DataFrame([_row(colour="red")]), tmp_path)


def test_reading_a_missing_manifest_says_which_stage_to_run(tmp_path):
    with pytest.raises(DataContractError, match="run the upstream stage"):
        read_manifest(tmp_path)


def test_sample_id_is_a_stable_content_hash():
    a = sample_id_for("p" * 64, "g" * 64, "upper_body")
    assert a == sample_id_for("p" * 64, "g" * 64, "upper_body")
    assert a != sample_id_for("p" * 64, "g" * 64, "dresses")
    assert len(a) == 16


def test_schema_reexports_the_names_module_s_constants_which_need_no_pandas():
    import components.manifest.names as names
    import components.manifest.schema as schema

    assert (schema.MANIFEST_FILENAME, schema.SPLITS, schema.CATEGORIES) == (
        names.MANIFEST_FILENAME, names.SPLITS, names.CATEGORIES)
    assert schema.CATEGORIES is names.CATEGORIES
