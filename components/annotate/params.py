"""params.yaml section for the annotate step."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.config.base import Section


class AnnotateParams(Section):
    """Which annotators run, at what size, with how many workers."""

    pose: Literal["mediapipe", "openpose"] = "mediapipe"
    parsing: Literal["pose_geometry", "schp_lip+schp_atr"] = "pose_geometry"
    densepose: Literal["none", "densepose_r50"] = "none"
    width: int = Field(default=384, gt=0)
    height: int = Field(default=512, gt=0)
    workers: int = Field(default=1, ge=1)
    shard_size: int = Field(default=16, gt=0)
