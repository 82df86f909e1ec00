"""Each annotator declares what the engine needs (the settings that change its maps, its batch size, what a
worker pool preloads); the cache key and the engine use only those declarations, never a backend's name."""

import ast
import inspect
from pathlib import Path

import pytest

import numpy as np

from components.annotate.agnostic import LIP
from components.annotate.annotators import REGISTRY, annotator_class, provider_of, selected_classes
from components.annotate.annotators.base import PLACEMENT_FIELDS, BatchedAnnotator
from components.annotate.engine import engine_batch_size, person_key, worker_preload
from components.annotate.params import AnnotateParams

ANNOTATE = Path(__file__).resolve().parents[2] / "components" / "annotate"
IDS = {"pose": "mediapipe_pose:1"}
PERSON = "a" * 64

# One change per params section that alters what a model finds (a value each section accepts).
MAP_CHANGES = {
    "pose_rules": {"person_mask_threshold": 0.6},
    "mask": {"arm_width": 0.5},
    "schp": {"input_size": 640},
    "densepose_model": {"min_score": 0.5},
    "openpose": {"box_size": 400},
    "cloth_mask": {"border_px": 7},  # garments only: never part of a person's key
}
# Changes to where and in what batches a model runs.
PLACEMENT_CHANGES = {
    "schp": {"device": "cpu", "batch_size": 2},
    "densepose_model": {"device": "cpu", "batch_size": 3, "onnx_threads": 4},
    "openpose": {"device": "cpu"},
}
SELECTIONS = [AnnotateParams(**({} if role == "person" else {role: backend})) for role, backend in REGISTRY]


def _changed(settings: AnnotateParams, section: str, update: dict) -> AnnotateParams:
    return settings.model_copy(update={section: getattr(settings, section).model_copy(update=update)})


def _declared(settings: AnnotateParams) -> set[str]:
    return {f for cls in selected_classes(settings) for f in cls.settings_fields}


@pytest.mark.parametrize("settings", SELECTIONS, ids=lambda s: f"{s.pose}-{s.parsing}-{s.densepose}")
@pytest.mark.parametrize("section", sorted(MAP_CHANGES))
def test_a_person_key_changes_exactly_when_a_selected_annotator_declares_the_changed_setting(settings, section):
    changed = person_key(PERSON, _changed(settings, section, MAP_CHANGES[section]), IDS)
    assert (changed != person_key(PERSON, settings, IDS)) == (section in _declared(settings))


@pytest.mark.parametrize("settings", SELECTIONS, ids=lambda s: f"{s.pose}-{s.parsing}-{s.densepose}")
def test_placement_and_run_settings_never_change_a_person_key(settings):
    key = person_key(PERSON, settings, IDS)
    for section, update in PLACEMENT_CHANGES.items():
        assert person_key(PERSON, _changed(settings, section, update), IDS) == key, section
    run_only = settings.model_copy(update={"workers": 3, "shard_size": 5, "executor": "ray", "cache_dir": "elsewhere",
                                           "overlay_samples": 0})
    assert person_key(PERSON, run_only, IDS) == key


def test_every_declared_setting_is_an_annotate_params_field_and_batched_models_name_a_batched_section():
    for role, backend in REGISTRY:
        cls = annotator_class(role, backend)
        assert set(cls.settings_fields) <= set(AnnotateParams.model_fields), cls.name
        if issubclass(cls, BatchedAnnotator):
            section = AnnotateParams.model_fields[cls.params_field].annotation.model_fields
            assert {"device", "batch_size"} <= set(section), cls.name


def _settings_read(cls) -> set[str]:
    """The AnnotateParams fields an annotator's own code reads (`settings.<field>`)."""
    tree = ast.parse(inspect.getsource(cls))
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings"}


def test_an_annotator_reads_only_the_settings_it_declares():
    # A setting read but not declared would change the maps and leave stale ones in the cache.
    for role, backend in REGISTRY:
        cls = annotator_class(role, backend)
        read = set().union(*(_settings_read(c) for c in cls.__mro__ if c.__module__.startswith("components.")))
        assert read <= set(cls.settings_fields) | {getattr(cls, "params_field", None)}, (cls.name, read)


def test_batch_size_and_preload_come_from_the_selected_annotators_declarations():
    schp = AnnotateParams(parsing="schp_lip+schp_atr")
    assert engine_batch_size(schp) == max(cls.batch_size(schp) for cls in selected_classes(schp))
    assert worker_preload(AnnotateParams())[2:] == ["mediapipe.python.solutions.selfie_segmentation",
                                                     "mediapipe.python.solutions.pose"]
    assert "mediapipe.python.solutions.pose" not in worker_preload(AnnotateParams(pose="openpose"))


# Params sections an annotator declares that are not its own: the agnostic-mask rules, which sample.py draws every
# agnostic mask with whichever parser runs (the geometric parser also paints its regions with them).
SHARED_SECTIONS = {"mask"}


def _backend_words() -> set[str]:
    words = set()
    for role, backend in REGISTRY:
        cls = annotator_class(role, backend)
        words |= {backend, cls.name, *cls.settings_fields, getattr(cls, "params_field", "")}
    return {w for w in words if w} - SHARED_SECTIONS | {"mediapipe"}


def _code_strings_and_attributes(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant that is not a docstring, and of every attribute name."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.Attribute):
            out.append((node.lineno, node.attr))
    return out


ENGINE_FILES = ["engine.py", "cache.py", "preflight.py", "sample.py", *(f"executors/{p.name}" for p in (ANNOTATE / "executors").glob("*.py"))]
ROLE_SELECTORS = {"pose", "parsing", "densepose"}  # the params fields naming backends: only the registry reads them


@pytest.mark.parametrize("rel", ENGINE_FILES)
def test_the_engine_cache_executors_preflight_and_sample_rendering_name_no_backend(rel):
    words = _backend_words()
    found = []
    for line, text in _code_strings_and_attributes(ANNOTATE / rel):
        if text in ROLE_SELECTORS or text in words or any(w in text.lower() for w in words if len(w) > 4):
            found.append(f"{rel}:{line}: {text!r}")
    assert not found, "backend-specific names outside the annotators:\n" + "\n".join(found)


def test_placement_fields_exist_in_the_research_sections():
    # PLACEMENT_FIELDS names real fields: a typo there would key the cache on a device.
    research = {f for s in ("schp", "densepose_model", "openpose")
                for f in AnnotateParams.model_fields[s].annotation.model_fields}
    assert PLACEMENT_FIELDS <= research


def test_the_parse_a_sample_writes_is_shaped_by_its_parsers_declaration_not_by_a_backend_name():
    parse = np.zeros((4, 4), np.uint8)
    parse[:2] = LIP["upper_clothes"]
    parse[2:] = LIP["pants"]
    geometric = provider_of(AnnotateParams(parsing="pose_geometry"), "parse_lip")
    assert geometric[0] == "pose_geometry" and geometric[1].shapes_rendering()
    assert (geometric[1].parse_for_category(parse, "dresses") == LIP["dress"]).all()
    assert (geometric[1].parse_for_category(parse, "upper_body") == parse).all()
    learned = provider_of(AnnotateParams(parsing="schp_lip+schp_atr"), "parse_lip")
    assert learned[0] == "schp_lip+schp_atr" and not learned[1].shapes_rendering()
    assert learned[1].parse_for_category(parse, "dresses") is parse  # a real parser's labels are written as found


def test_annotate_and_the_on_the_fly_representation_share_one_rule_for_a_categorys_parse():
    from components.annotate.annotators import parse_for_category

    parse = np.full((4, 4), LIP["upper_clothes"], np.uint8)
    assert (parse_for_category(AnnotateParams(parsing="pose_geometry"), parse, "dresses") == LIP["dress"]).all()
    assert parse_for_category(AnnotateParams(parsing="schp_lip+schp_atr"), parse, "dresses") is parse
    assert parse_for_category(AnnotateParams(parsing="pose_geometry"), None, "dresses") is None


def test_the_render_code_digest_covers_the_modules_whose_render_hooks_run():
    from components.annotate.annotators import pose_geometry
    from components.annotate.annotators import render_hook_files

    assert render_hook_files(AnnotateParams(parsing="pose_geometry")) == [Path(pose_geometry.__file__)]
    assert render_hook_files(AnnotateParams(parsing="schp_lip+schp_atr")) == []
