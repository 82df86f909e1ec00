"""Evaluate's two models load through the family contract, so challenger and champion may be of different
families and still run on the same pairs."""

from __future__ import annotations

from PIL import Image

from components.evaluate.pairs import EvalPair
from tests.train.families.conftest import worn_dataset  # noqa: F401  (the shared fixture)
from tests.tryon.conftest import unet_gan_model  # noqa: F401


def _pair(sample) -> EvalPair:
    return EvalPair(kind="paired", category=sample.category, person_id=sample.sample_id,
                    garment_id=sample.sample_id, person=sample.person, garment=sample.garment,
                    agnostic_mask=sample.mask, garment_cloth_mask=None, own_garment=sample.garment,
                    own_cloth_mask=None, torso_length=None, own_width_ratio=None, own_length_ratio=None,
                    new_width_ratio=None, new_length_ratio=None)


def test_a_unet_gan_champion_and_a_catvton_flux_candidate_both_generate_the_same_pair(
        tmp_path, worn_dataset, unet_gan_model, mlflow_uri):  # noqa: F811
    import mlflow

    from components.evaluate.models import champion_model_dir, champion_version, pipeline_generator
    from components.project import project_root
    from components.train.data import select_samples
    from components.train.families.catvton_flux import FAMILY as CATVTON
    from components.train.families.base import FamilyContext
    from components.train.package import log_and_register
    from tests.train.conftest import tiny_params

    mlflow.set_tracking_uri(mlflow_uri)  # an earlier test may have pointed the process at its own store
    mlflow.set_experiment("eval-families")
    with mlflow.start_run():
        record = log_and_register(unet_gan_model, "eval-families", project_root())
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("eval-families", "champion", record["version"])
    assert champion_version(client, "eval-families") == record["version"]

    samples = select_samples(worn_dataset).samples
    ctx = FamilyContext(params=tiny_params(tmp_path, max_steps=1, gate={"enabled": False}), samples=samples,
                        val_samples=[], checkpoint_dir=tmp_path / "ckpt", model_dir=tmp_path / "candidate",
                        reports_dir=tmp_path / "reports", cache_dir=tmp_path / "cache")
    CATVTON.train(ctx)

    sample = select_samples(worn_dataset, "test").samples[0]
    person, garment = Image.open(sample.person).convert("RGB"), Image.open(sample.garment).convert("RGB")
    mask = Image.open(sample.mask).convert("L")
    download = tmp_path / "champion"
    champion_dir = champion_model_dir(client, "eval-families", record["version"], download)
    assert champion_dir.is_relative_to(download)
    champion = pipeline_generator(champion_dir, steps=2, seed=0)
    challenger = pipeline_generator(ctx.model_dir, steps=2, seed=0)
    for generate in (champion, challenger):
        assert generate(_pair(sample), person, garment, mask).size == person.size
