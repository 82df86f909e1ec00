"""`vton tryon` as a user runs it: one pair from a registry URI, a list of pairs with one unusable photo,
and clear errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from components.train.data import select_samples

REPO = Path(__file__).resolve().parents[2]


def _vton(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "components.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "VTON_PROJECT_ROOT": str(REPO), **(env or {})})


def _register(model_dir: Path, name: str) -> str:
    """Register `model_dir` as a version of `name` with the champion alias (as promotion would)."""
    import mlflow

    from components.train.package import log_and_register

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])  # the store the `vton` subprocess will read
    mlflow.set_experiment("tryon-tests")
    with mlflow.start_run():
        record = log_and_register(model_dir, name, REPO)
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", record["version"])
    return record["version"]


def test_one_pair_from_the_champion_in_the_registry_writes_an_image_of_the_persons_size(
        tmp_path, worn_dataset, unet_gan_model, mlflow_uri):
    _register(unet_gan_model, "tryon-cli")
    sample = select_samples(worn_dataset, "test").samples[0]
    person = tmp_path / "person.png"
    photo = Image.open(worn_dataset.parent / "photos" / "astronaut_full.png").convert("RGB")
    photo.resize((150, 150)).save(person)  # a bare photo: no annotations
    out = tmp_path / "result.png"
    proc = _vton(["tryon", str(person), str(sample.garment), "--category", "upper_body",
                  "--model", "models:/tryon-cli@champion", "--out", str(out),
                  "--annotation-cache", str(tmp_path / "cache")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (150, 150)
    assert "(unet_gan)" in proc.stderr


def test_a_list_of_pairs_writes_every_usable_pair_and_names_the_one_that_failed(
        tmp_path, worn_dataset, unet_gan_model, real_photos):
    samples = select_samples(worn_dataset, "test").samples[:2]
    photos = worn_dataset.parent / "photos"  # the bare photos the dataset was annotated from
    folder = tmp_path / "in"
    folder.mkdir()
    lines = []
    for i, (name, s) in enumerate(zip(("astronaut_full", "grace_hopper_full"), samples)):
        Image.open(photos / f"{name}.png").save(folder / f"p{i}.png")
        Image.open(s.garment).save(folder / f"g{i}.png")
        lines.append(f"p{i}.png g{i}.png")
    real_photos["chelsea"].save(folder / "cat.png")  # no person in it
    lines.append("cat.png g0.png upper_body  # a cat")
    (folder / "pairs.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "results"
    proc = _vton(["tryon", "--pairs", str(folder / "pairs.txt"), "--category", "upper_body",
                  "--model", str(unet_gan_model), "--out", str(out), "--no-annotation-cache"], tmp_path)
    assert proc.returncode == 3, proc.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["p0__g0__upper_body.png", "p1__g1__upper_body.png"]
    assert Image.open(out / written[0]).size == Image.open(folder / "p0.png").size
    assert "cat.png" in proc.stderr and "2 of 3 pairs written" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_list_of_pairs_with_one_person_annotates_that_photo_once_and_a_later_call_not_at_all(
        tmp_path, worn_dataset, unet_gan_model):
    photos = worn_dataset.parent / "photos"
    samples = select_samples(worn_dataset, "test").samples[:3]
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(photos / "astronaut_full.png").save(folder / "person.png")
    Image.open(photos / "astronaut_full.png").convert("RGB").save(folder / "same_person.bmp")  # same pixels
    mask = Image.new("L", Image.open(folder / "person.png").size, 0)
    mask.paste(255, (40, 80, 150, 170))
    mask.save(folder / "mask.png")
    lines = []
    for i, s in enumerate(samples):
        Image.open(s.garment).save(folder / f"g{i}.png")
        lines.append(f"person.png g{i}.png upper_body mask.png")  # a mask given: only the predictor annotates
    lines.append("same_person.bmp g0.png upper_body mask.png")
    (folder / "pairs.txt").write_text("\n".join(lines) + "\n")
    cache = tmp_path / "cache"
    args = ["tryon", "--pairs", str(folder / "pairs.txt"), "--model", str(unet_gan_model),
            "--annotation-cache", str(cache)]
    first = _vton([*args, "--out", str(tmp_path / "first")], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "annotations: 1 computed, 3 reused" in first.stderr
    assert len(list((cache / "maps").rglob("*.npz"))) == 1
    second = _vton([*args, "--out", str(tmp_path / "second")], tmp_path)
    assert second.returncode == 0, second.stderr
    assert "annotations: 0 computed, 4 reused" in second.stderr
    for name in ("person__g1__upper_body.png", "same_person__g0__upper_body.png"):
        assert Image.open(tmp_path / "first" / name).tobytes() == Image.open(tmp_path / "second" / name).tobytes()


def test_bad_input_is_a_clear_error_without_a_traceback(tmp_path, unet_gan_model):
    (tmp_path / "pairs.txt").write_text("a.png b.png trousers\n")
    proc = _vton(["tryon", "--pairs", str(tmp_path / "pairs.txt"), "--model", str(unet_gan_model),
                  "--out", str(tmp_path / "o")], tmp_path)
    assert proc.returncode == 2 and "pairs.txt:1: category 'trousers'" in proc.stderr
    proc = _vton(["tryon", "nope.png", "g.png", "--category", "upper_body", "--model", str(tmp_path / "empty"),
                  "--out", str(tmp_path / "r.png")], tmp_path)
    assert proc.returncode == 2 and "not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def _one_pair(tmp_path, worn_dataset) -> tuple[Path, Path]:
    sample = select_samples(worn_dataset, "test").samples[0]
    person = tmp_path / "person.png"
    Image.open(worn_dataset.parent / "photos" / "astronaut_full.png").convert("RGB").resize((150, 150)).save(person)
    return person, sample.garment


def test_a_size_blind_model_tries_on_as_worn_and_says_it_ignores_the_requested_fit(
        tmp_path, worn_dataset, unet_gan_model):
    person, garment = _one_pair(tmp_path, worn_dataset)
    out = tmp_path / "result.png"
    proc = _vton(["tryon", str(person), str(garment), "--category", "upper_body", "--fit", "loose",
                  "--model", str(unet_gan_model), "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "trained without size conditioning" in proc.stderr and "--fit loose is ignored" in proc.stderr
    assert proc.stderr.count("without size conditioning") == 1  # said once, by the CLI, not again per pair
    assert "records no annotate settings" in proc.stderr  # the fixture's model: masks with the project's settings
    assert Image.open(out).size == (150, 150)


def test_a_size_aware_model_takes_a_fit_label_or_three_ratios(tmp_path, worn_dataset, size_aware_model):
    from components.fit.labels import representative_ratios
    from components.fit.params import FitParams

    person, garment = _one_pair(tmp_path, worn_dataset)
    loose = representative_ratios("upper_body", "loose", FitParams())
    proc = _vton(["tryon", str(person), str(garment), "--category", "upper_body", "--fit", "loose",
                  "--model", str(size_aware_model), "--out", str(tmp_path / "loose.png")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "size-aware" in proc.stderr and f"width {loose.width:.3f}" in proc.stderr
    assert "ignored" not in proc.stderr
    proc = _vton(["tryon", str(person), str(garment), "--category", "upper_body", "--ratios", "1.4", "1.2", "1.3",
                  "--model", str(size_aware_model), "--out", str(tmp_path / "ratios.png")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "width 1.400, length 1.200, span 1.300" in proc.stderr
    assert Image.open(tmp_path / "ratios.png").size == (150, 150)


def test_an_unknown_fit_or_fit_with_ratios_is_a_clear_error(tmp_path, worn_dataset, size_aware_model):
    person, garment = _one_pair(tmp_path, worn_dataset)
    for extra, says in ((["--fit", "baggy"], "unknown fit label 'baggy'"),
                        (["--fit", "loose", "--ratios", "1", "1", "1"], "not both"),
                        (["--ratios", "1", "0", "1"], "must be positive")):
        proc = _vton(["tryon", str(person), str(garment), "--category", "upper_body", *extra,
                      "--model", str(size_aware_model), "--out", str(tmp_path / "x.png")], tmp_path)
        assert proc.returncode != 0 and says in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and "--fit tight|fitted|loose" in proc.stderr
