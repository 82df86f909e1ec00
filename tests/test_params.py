from pathlib import Path

import pytest
import yaml

from components.params import load_params, resolve_params

from components.config.loader import PROFILES, deep_merge, set_active_profile
from components.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("profile", PROFILES)
def test_repo_params_yaml_validates_for_every_profile(profile):
    params = load_params(REPO / "params.yaml", profile=profile)
    assert params.profile == profile
    assert params.flow.stages, "the retrain flow must have stages"


def test_every_profile_overlays_every_section_so_dvc_can_track_them():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    sections = {k for k in raw if k not in ("profile", "profiles", "project", "paths", "flow")}
    for profile in PROFILES:
        missing = sections - set(raw["profiles"][profile])
        assert not missing, f"profiles.{profile} lacks {missing} (dvc.yaml depends on profiles.<p>.<section>)"


def test_negative_lora_rank_is_reported_with_file_key_rule_and_value():
    with pytest.raises(ConfigError) as exc:
        resolve_params({"train": {"lora_rank": -1}})
    assert "params.yaml: train.lora_rank must be > 0, got -1" in str(exc.value)


def test_misspelled_key_is_rejected_not_ignored():
    with pytest.raises(ConfigError, match=r"import\.min_sid is not a known setting"):
        resolve_params({"import": {"min_sid": 10}})


def test_unknown_profile_is_rejected():
    with pytest.raises(ConfigError, match="profile must be one of"):
        resolve_params({"profile": "huge"})


def test_profile_overlay_overrides_only_the_keys_it_names():
    raw = {"import": {"min_side": 64, "test_fraction": 0.3}, "profiles": {"full": {"import": {"min_side": 256}}}}
    smoke = resolve_params(raw, profile="smoke")
    full = resolve_params(raw, profile="full")
    assert smoke.import_.min_side == 64
    assert full.import_.min_side == 256
    assert full.import_.test_fraction == 0.3


def test_deep_merge_merges_nested_and_replaces_lists():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = deep_merge(base, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_set_active_profile_rewrites_only_the_profile_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("# comment kept\nprofile: smoke\nimport:\n  min_side: 64\n")
    assert set_active_profile(path, "full") is True
    assert path.read_text() == "# comment kept\nprofile: full\nimport:\n  min_side: 64\n"
    assert set_active_profile(path, "full") is False


def test_missing_params_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "params.yaml")


def _write(tmp_path, raw, stages=("scrape", "import")):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {s: {"cmd": f"vton {s}"} for s in stages}}))
    return tmp_path / "params.yaml"


@pytest.mark.parametrize("promote", [
    {"required_categories": ["upper_body", "lower_bdy"]},
    {"category_gates": {"dress": {"lpips": {"max_regression": 0.0}}}},
])
def test_a_misspelt_category_in_the_promotion_gates_is_an_error_at_load_not_a_gate_switched_off(promote):
    with pytest.raises(ConfigError, match=r"unknown categories \['(lower_bdy|dress)'\]"):
        resolve_params({"promote": promote})


def test_a_misspelt_category_in_the_validate_settings_is_an_error_at_load():
    with pytest.raises(ConfigError, match=r"validate\.geometry\.cloth_mask_area\.dress"):
        resolve_params({"validate": {"geometry": {"cloth_mask_area": {"dress": [0.1, 0.9]}}}})


def test_a_flow_stage_that_dvc_yaml_does_not_define_fails_at_load_not_mid_run(tmp_path):
    path = _write(tmp_path, {"flow": {"stages": ["scrape", "imprt"]}})
    with pytest.raises(ConfigError, match=r"flow\.stages names \['imprt'\], which dvc\.yaml does not define"):
        load_params(path)


def test_every_profile_overlay_is_validated_not_only_the_active_one(tmp_path):
    path = _write(tmp_path, {"profile": "smoke", "profiles": {"full": {"train": {"lora_rank": 0}}}})
    with pytest.raises(ConfigError, match=r"train\.lora_rank must be > 0.*\n?.*profile 'full'"):
        load_params(path)
    assert load_params(_write(tmp_path, {"profile": "smoke", "profiles": {"full": {"train": {"lora_rank": 8}}}}))


def test_loading_params_imports_no_pandas_pyarrow_numpy_or_pil():
    # Every command loads params first: a cached stage re-run's cost is mostly what that imports.
    import subprocess
    import sys

    from tests.conftest import REPO

    script = ("import sys; from components.params import load_params; load_params(sys.argv[1]); "
              "print(sorted(m for m in ('pandas', 'pyarrow', 'numpy', 'PIL') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script, str(REPO / "params.yaml")], capture_output=True, text=True,
                          env={"PATH": "", "PYTHONPATH": str(REPO)}, check=True)
    assert proc.stdout.strip() == "[]"
