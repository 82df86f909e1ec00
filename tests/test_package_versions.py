"""components/package_versions.py: versions from dist-info folder names, as importlib.metadata reads them."""

from __future__ import annotations

import importlib.metadata as metadata
import sys

from components.package_versions import ABSENT, _dist_infos, installed_version


def test_every_installed_distribution_reads_the_version_importlib_metadata_reads():
    names = sorted({dist.metadata["Name"] for dist in metadata.distributions()})
    assert len(names) > 50  # the locked environment, not an empty listing
    assert [(n, installed_version(n)) for n in names] == [(n, metadata.version(n)) for n in names]


def test_names_compare_as_pep_503_says_and_a_missing_distribution_reads_absent():
    assert installed_version("opencv_python.Headless") == metadata.version("opencv-python-headless")
    assert installed_version("no-such-distribution-here") == ABSENT


def test_the_first_folder_on_sys_path_that_holds_a_distribution_wins(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "demo_pkg-2.0.dist-info").mkdir(parents=True)
    (second / "demo_pkg-1.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    installed_version.cache_clear()
    _dist_infos.cache_clear()
    try:
        assert installed_version("demo-pkg") == "2.0"
    finally:
        installed_version.cache_clear()
        _dist_infos.cache_clear()
