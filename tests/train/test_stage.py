"""The train stage: its run key (what changes a checkpoint starts a new run, more steps resume it) and a fresh
run's checkpoint folder (a run without --resume never leaves an earlier run's weights for a later --resume)."""

from __future__ import annotations

import json

from components.train.params import TrainParams
from components.train.stage import run_key, seedless_runs


def _key(seed: int = 0, **train) -> str:
    return run_key(TrainParams.model_validate(train), "smoke", "data0", seed)


def test_more_steps_resume_the_same_run_and_another_familys_settings_do_not_matter():
    assert _key(model="unet_gan", max_steps=200) == _key(model="unet_gan", max_steps=400)
    assert _key(model="unet_gan") == _key(model="unet_gan", gmm_tom={"batch_size": 2})
    assert _key(model="gmm_tom", gmm_tom={"steps": {"gmm": 10, "tom": 10}}) == \
        _key(model="gmm_tom", gmm_tom={"steps": {"gmm": 10, "tom": 30}})


def test_the_family_and_its_own_settings_change_the_run():
    assert _key(model="unet_gan") != _key(model="gmm_tom")
    assert _key(model="unet_gan") != _key(model="unet_gan", unet_gan={"base_channels": 16})
    assert _key(model="gmm_tom") != _key(model="gmm_tom", gmm_tom={"batch_size": 2})


def test_two_runs_differing_only_by_seed_have_different_keys_that_name_their_seed():
    assert _key(0, model="unet_gan") != _key(1, model="unet_gan")
    assert _key(7, model="unet_gan").startswith("smoke-seed7-")


def test_checkpoint_folders_keyed_before_the_seed_joined_the_key_are_told_apart(tmp_path):
    (tmp_path / "smoke-0123456789ab").mkdir()  # the old `<profile>-<12 hex>` key
    (tmp_path / _key(0, model="unet_gan")).mkdir()
    assert [p.name for p in seedless_runs(tmp_path)] == ["smoke-0123456789ab"]
    assert seedless_runs(tmp_path / "none") == []


def _stage(tmp_path, dataset, **train):
    from components.params import Params
    from tests.train.conftest import tiny_params

    return Params.model_validate({
        "train": tiny_params(tmp_path, gate={"enabled": False}, **train).model_dump(),
        "paths": {"augmented": str(dataset), "models": str(tmp_path / "models"), "reports": str(tmp_path / "reports")},
    })


def _checkpoints(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_run_without_resume_starts_from_an_empty_folder_so_a_later_resume_continues_it_not_an_earlier_run(
        tmp_path, dataset, mlflow_uri, capsys):
    from components.project import project_root
    from components.train.stage import dataset_version, run

    root = project_root()
    first = run(_stage(tmp_path, dataset, max_steps=4, checkpoint_every=2), root, register=False)
    assert _checkpoints(first.checkpoint_dir) == ["checkpoint-2", "checkpoint-4"]
    params = _stage(tmp_path, dataset, max_steps=2, checkpoint_every=2)
    assert first.checkpoint_dir.name == run_key(params.train, "smoke", dataset_version(dataset), params.project.seed)

    second = run(params, root, register=False)  # the same key: a fresh start of the same run
    assert second.checkpoint_dir == first.checkpoint_dir
    assert _checkpoints(second.checkpoint_dir) == ["checkpoint-2"]  # the first run's step 4 is gone
    # CatVTON-Flux records the annotate settings its masks were made with, as the baselines do (tryon reuses them).
    assert json.loads((second.model_dir / "model.json").read_text())["annotate"] == \
        params.annotate.model_dump(mode="json")
    assert "removed 2 checkpoint(s) of an earlier run" in capsys.readouterr().err

    run(_stage(tmp_path, dataset, max_steps=4, checkpoint_every=2), root, resume=True, register=False)
    metrics = json.loads((second.reports_dir / "metrics.json").read_text())
    assert metrics["resumed_from"] == "checkpoint-2" and metrics["start_step"] == 2 and metrics["steps"] == 4
