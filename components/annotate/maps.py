"""The per-person maps every annotator fills and every consumer (layout writer, masker) reads.

All arrays are in the output image frame (annotate.height x annotate.width) after the letterbox resize,
so maps from different annotators line up pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Field names of BodyMaps that hold arrays (the ones an annotator may fill).
MAP_FIELDS: tuple[str, ...] = (
    "keypoints_body25",
    "person_mask",
    "parse_lip",
    "parse_atr",
    "densepose_parts",
    "densepose_uv",
)


@dataclass
class BodyMaps:
    """What the annotators found on one person image; None means "not produced by any annotator".

    keypoints_body25: 25x3 float32 (x, y, confidence) in OpenPose BODY_25 order; all zeros = missing point.
    person_mask: bool HxW. parse_lip: uint8 HxW, LIP 20-class ids. parse_atr: uint8 HxW, ATR 18-class ids.
    densepose_parts: uint8 HxW, DensePose I (0 background, 1-24 parts). densepose_uv: float32 2xHxW or None.
    n_people: people detected (None when no annotator counts them). sources: map name -> annotator name.
    pose_attempt: which input the pose model found the person on (second_look.ATTEMPTS), None if not recorded.
    """

    keypoints_body25: np.ndarray | None = None
    person_mask: np.ndarray | None = None
    parse_lip: np.ndarray | None = None
    parse_atr: np.ndarray | None = None
    densepose_parts: np.ndarray | None = None
    densepose_uv: np.ndarray | None = None
    n_people: int | None = None
    sources: dict[str, str] = field(default_factory=dict)
    pose_attempt: str | None = None

    def update(self, other: "BodyMaps") -> "BodyMaps":
        """Copy every map `other` produced into self (later annotators win) and return self."""
        for name in MAP_FIELDS:
            value = getattr(other, name)
            if value is not None:
                setattr(self, name, value)
                if name in other.sources:
                    self.sources[name] = other.sources[name]
        if other.n_people is not None:
            self.n_people = other.n_people
            if "n_people" in other.sources:
                self.sources["n_people"] = other.sources["n_people"]
        if other.pose_attempt is not None:
            self.pose_attempt = other.pose_attempt
        return self

    def has(self, *names: str) -> bool:
        """True when every named map is present."""
        return all(getattr(self, n) is not None for n in names)

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        """The present maps plus sources and n_people, as arrays for np.savez_compressed."""
        out = {n: getattr(self, n) for n in MAP_FIELDS if getattr(self, n) is not None}
        out["_sources"] = np.array([f"{k}={v}" for k, v in sorted(self.sources.items())], dtype=str)
        out["_n_people"] = np.array(-1 if self.n_people is None else self.n_people)
        if self.pose_attempt is not None:
            out["_pose_attempt"] = np.array(self.pose_attempt)
        return out

    @classmethod
    def from_npz_dict(cls, data) -> "BodyMaps":
        """Rebuild BodyMaps from what to_npz_dict stored (an NpzFile or mapping)."""
        keys = set(data.keys() if hasattr(data, "keys") else data.files)
        kwargs = {n: np.asarray(data[n]) for n in MAP_FIELDS if n in keys}
        sources = dict(s.split("=", 1) for s in data["_sources"].tolist()) if "_sources" in keys else {}
        n_people = int(data["_n_people"]) if "_n_people" in keys else -1
        attempt = str(data["_pose_attempt"]) if "_pose_attempt" in keys else None
        return cls(**kwargs, n_people=None if n_people < 0 else n_people, sources=sources, pose_attempt=attempt)

