"""Sample selection from the manifest and aspect-bucketed, resumable batch order."""

from __future__ import annotations

import pytest

from components.errors import DataContractError
from components.train.data import epoch_batches, require_samples, select_samples
from tests.train.conftest import make_dataset


def test_only_ok_train_rows_with_an_agnostic_mask_are_selected(dataset):
    sel = select_samples(dataset, "train")
    assert len(sel.samples) == 3 and sel.quarantined == 1
    assert {s.category for s in sel.samples} == {"upper_body", "lower_body", "dresses"}
    assert all(s.person.is_file() and s.mask.is_file() for s in sel.samples)


def test_rows_whose_person_does_not_wear_the_garment_are_not_trained_on_and_are_counted(tmp_path, real_photos):
    from components.manifest.schema import read_manifest, write_manifest

    ds = make_dataset(tmp_path / "d", real_photos)
    df = read_manifest(ds)
    first_ok = df.index[(df["split"] == "train") & (df["status"] == "ok")][0]
    df.loc[first_ok, "pairing"] = "unpaired"
    write_manifest(df, ds)
    sel = select_samples(ds, "train")
    assert len(sel.samples) == 2 and sel.skipped_unpaired == 1
    assert df.loc[first_ok, "sample_id"] not in {s.sample_id for s in sel.samples}


def test_size_ratios_come_from_the_manifest(tmp_path, real_photos):
    ds = make_dataset(tmp_path / "d", real_photos, ratios=True)
    sel = select_samples(ds, "train", ["garment_to_body_width_ratio", "garment_to_body_length_ratio"])
    assert sorted(s.ratios[0] for s in sel.samples) == pytest.approx([1.0, 1.1, 1.2])


def test_an_unannotated_dataset_is_a_clear_user_error(tmp_path, real_photos):
    import pandas as pd

    from components.manifest.schema import read_manifest, write_manifest

    ds = make_dataset(tmp_path / "d", real_photos)
    df = read_manifest(ds)
    df["agnostic_mask_path"] = None
    write_manifest(df, ds)
    with pytest.raises(DataContractError, match="agnostic mask"):
        require_samples(select_samples(ds), ds)
    assert isinstance(df, pd.DataFrame)


def test_batches_share_one_bucket_cover_every_sample_and_repeat_per_seed():
    buckets = [(64, 64), (48, 64), (64, 64), (48, 64), (64, 64)]
    batches = epoch_batches(buckets, 2, seed=3, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(5))
    assert all(len({buckets[i] for i in b}) == 1 for b in batches)
    assert batches == epoch_batches(buckets, 2, seed=3, epoch=0)
    assert batches != epoch_batches(buckets, 2, seed=3, epoch=1) or len(batches) < 3


def test_ranks_get_disjoint_equal_shares():
    buckets = [(64, 64)] * 9
    r0 = epoch_batches(buckets, 1, 0, 0, rank=0, world=2)
    r1 = epoch_batches(buckets, 1, 0, 0, rank=1, world=2)
    assert len(r0) == len(r1) == 4
    assert not {i for b in r0 for i in b} & {i for b in r1 for i in b}
