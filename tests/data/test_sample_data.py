import hashlib

from components.data.sample_data import GARMENTS, PAIRS, materialise_sample_data
from components.manifest.schema import CATEGORIES
from tests.conftest import run


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sample_data_is_byte_identical_when_materialised_twice(tmp_path):
    a = materialise_sample_data(tmp_path / "a")
    b = materialise_sample_data(tmp_path / "b")
    assert _digest(a) == _digest(b)


def test_sample_data_covers_every_category_with_provenance(tmp_path):
    folder = materialise_sample_data(tmp_path)
    assert {GARMENTS[g][0] for _, g in PAIRS} == set(CATEGORIES)
    provenance = (folder / "PROVENANCE.md").read_text()
    for p in sorted(folder.rglob("*.png")):
        assert p.relative_to(folder).as_posix() in provenance
    assert sum(p.stat().st_size for p in folder.rglob("*")) < 5 * 2**20


def test_materialised_sample_matches_the_md5_committed_in_data_dvc(workspace):
    # The workspace fixture materialises the sample into data/raw next to the repo's data.dvc.
    status = run(["dvc", "status", "data.dvc"], workspace).stdout
    assert "modified" not in status, status
    # Committing the files to the DVC cache must leave data.dvc exactly as git has it.
    run(["dvc", "commit", "--force", "data.dvc"], workspace)
    assert run(["git", "status", "--porcelain", "data.dvc"], workspace).stdout == ""
    assert "up to date" in run(["dvc", "status", "data.dvc"], workspace).stdout.lower()
