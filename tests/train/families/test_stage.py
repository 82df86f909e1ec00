"""The train stage's run key per family: what changes a checkpoint starts a new run, more steps resume it."""

from __future__ import annotations

from components.train.params import TrainParams
from components.train.stage import run_key


def _key(**train) -> str:
    return run_key(TrainParams.model_validate(train), "smoke", "data0")


def test_more_steps_resume_the_same_run_and_another_familys_settings_do_not_matter():
    assert _key(model="unet_gan", max_steps=200) == _key(model="unet_gan", max_steps=400)
    assert _key(model="unet_gan") == _key(model="unet_gan", gmm_tom={"batch_size": 2})
    assert _key(model="gmm_tom", gmm_tom={"steps": {"gmm": 10, "tom": 10}}) == \
        _key(model="gmm_tom", gmm_tom={"steps": {"gmm": 10, "tom": 30}})


def test_the_family_and_its_own_settings_change_the_run():
    assert _key(model="unet_gan") != _key(model="gmm_tom")
    assert _key(model="unet_gan") != _key(model="unet_gan", unet_gan={"base_channels": 16})
    assert _key(model="gmm_tom") != _key(model="gmm_tom", gmm_tom={"batch_size": 2})
