"""Fixtures for the gate's tests: a clean annotated dataset built once, copied per test that breaks it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.validate.factory import clean_dataset


@pytest.fixture(scope="session")
def _clean_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("clean-dataset")
    return root, clean_dataset(root)


@pytest.fixture
def clean(tmp_path: Path, _clean_template: tuple[Path, pd.DataFrame]) -> tuple[Path, pd.DataFrame]:
    """(dataset dir, manifest) of a clean dataset this test may modify."""
    src, df = _clean_template
    root = tmp_path / "dataset"
    shutil.copytree(src, root)
    return root, df.copy()
