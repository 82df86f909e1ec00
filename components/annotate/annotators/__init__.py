"""Which class implements each annotator backend named in params.yaml (annotate.pose|parsing|densepose).

Entries are "module:Class" strings so choosing a backend imports only that backend's libraries.
To add a backend, add one line to REGISTRY and the name to the Literal in components/annotate/params.py.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from components.annotate.annotators.base import ROLES, Annotator
from components.errors import ConfigError

# (role, backend name) -> "module:Class"
REGISTRY: dict[tuple[str, str], str] = {
    ("pose", "mediapipe"): "components.annotate.annotators.mediapipe_pose:MediaPipePose",
    ("person", "selfie_segmentation"): "components.annotate.annotators.selfie_segmentation:SelfieSegmentation",
    ("parsing", "pose_geometry"): "components.annotate.annotators.pose_geometry:PoseGeometryParsing",
    ("pose", "openpose"): "components.annotate.annotators.openpose:OpenPoseBody",
    ("parsing", "schp_lip+schp_atr"): "components.annotate.annotators.schp:SchpParsing",
    ("densepose", "densepose_r50"): "components.annotate.annotators.densepose:DensePoseR50",
    ("densepose", "densepose_r50_onnx"): "components.annotate.annotators.densepose:DensePoseR50Onnx",
}


def annotator_class(role: str, backend: str) -> type[Annotator]:
    """The class registered for `backend` in `role`, imported on demand."""
    try:
        target = REGISTRY[(role, backend)]
    except KeyError:
        known = sorted(b for r, b in REGISTRY if r == role)
        raise ConfigError(
            f"annotate: no {role} annotator named {backend!r} is registered",
            hint=f"use one of {known} or register it in components/annotate/annotators/__init__.py",
        ) from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def default_backends() -> dict[str, str]:
    """{params field: backend} as AnnotateParams' defaults choose them: the offline ones, nothing to download."""
    from components.annotate.params import AnnotateParams

    return {field: AnnotateParams.model_fields[field].default for field in ("pose", "parsing", "densepose")}


def backends_for(settings) -> list[tuple[str, str]]:
    """The (role, backend) pairs that run for these annotate params, in ROLES order ("none" skipped)."""
    chosen = {
        "pose": settings.pose,
        "person": "selfie_segmentation",
        "parsing": settings.parsing,
        "densepose": settings.densepose,
    }
    return [(role, chosen[role]) for role in ROLES if chosen[role] != "none"]


def selected_classes(settings) -> list[type[Annotator]]:
    """The classes of every annotator these params select, in ROLES order (imported, nothing loaded)."""
    return [annotator_class(role, backend) for role, backend in backends_for(settings)]


def provider_of(settings, field: str) -> tuple[str, type[Annotator]] | None:
    """(backend name, class) of the selected annotator that fills BodyMaps `field` first; None when none does."""
    for role, backend in backends_for(settings):
        cls = annotator_class(role, backend)
        if field in cls.provides:
            return backend, cls
    return None


def parse_for_category(settings, parse, category: str):
    """The LIP parse `parse` as a sample of garment `category` writes it (the selected parser's own rule); None
    stays None. Annotate's files and the models' on-the-fly person representation both go through this."""
    if parse is None:
        return None
    provider = provider_of(settings, "parse_lip")
    return provider[1].parse_for_category(parse, category) if provider is not None else parse


def render_hook_files(settings) -> list[Path]:
    """Source files of the selected annotators whose render hooks shape a sample's files (sorted)."""
    return sorted({Path(inspect.getfile(cls)) for cls in selected_classes(settings) if cls.shapes_rendering()})


def build_annotators(settings) -> list[Annotator]:
    """One instance of every annotator these params select (call once per worker process)."""
    return [annotator_class(role, backend)(settings) for role, backend in backends_for(settings)]


__all__ = ["REGISTRY", "Annotator", "annotator_class", "backends_for", "build_annotators", "default_backends",
           "provider_of", "render_hook_files", "selected_classes"]
