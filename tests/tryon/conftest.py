"""Try-on fixtures: the annotated real-photo dataset of the family tests and a small trained unet_gan model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.families.conftest import worn_dataset  # noqa: F401  (the fixture, shared)


@pytest.fixture(scope="session")
def unet_gan_model(tmp_path_factory, worn_dataset) -> Path:  # noqa: F811
    """A unet_gan model directory trained for a few steps (tiny width) on the real-photo dataset."""
    from components.train.data import select_samples
    from components.train.families.base import FamilyContext
    from components.train.families.unet_gan.family import FAMILY
    from tests.train.families.conftest import family_params
    from tests.train.families.test_unet_gan import TINY

    tmp = tmp_path_factory.mktemp("unet")
    params = family_params(tmp, "unet_gan", unet_gan=TINY, max_steps=2)
    ctx = FamilyContext(params=params, samples=select_samples(worn_dataset).samples, val_samples=[],
                        checkpoint_dir=tmp / "ckpt", model_dir=tmp / "model", reports_dir=tmp / "reports")
    FAMILY.train(ctx)
    return ctx.model_dir


@pytest.fixture(scope="session")
def size_aware_model(tmp_path_factory, worn_dataset) -> Path:  # noqa: F811
    """A size-conditioned unet_gan model directory (train.size_conditioning: true), trained for a few steps."""
    from components.fit.params import FitParams
    from components.train.data import select_samples
    from components.train.families.base import FamilyContext
    from components.train.families.unet_gan.family import FAMILY
    from tests.train.families.conftest import family_params
    from tests.train.families.test_unet_gan import TINY

    tmp = tmp_path_factory.mktemp("unet-size")
    params = family_params(tmp, "unet_gan", unet_gan=TINY, max_steps=2, size_conditioning=True)
    samples = select_samples(worn_dataset, "train", list(params.size_conditioning.columns), float("nan")).samples
    ctx = FamilyContext(params=params, samples=samples, val_samples=[], checkpoint_dir=tmp / "ckpt",
                        model_dir=tmp / "model", reports_dir=tmp / "reports", fit=FitParams())
    FAMILY.train(ctx)
    return ctx.model_dir
