"""Annotations of bare photos (try-on, serving) remembered by the photo's content, in the annotate cache.

`vton tryon` and the baseline predictors annotate a person photo that has no annotations on the fly. With a
cache folder, a photo seen before (the same person in a list of pairs, or in an earlier call) costs one file
read instead of the models. Entries are the annotate cache's maps entries (components/annotate/cache.py),
keyed like the annotate stage's (frame size, the annotators' identities, the rules they read), but over the
decoded RGB pixels rather than a file's bytes: serving receives images, not files. A photo the annotators
refuse (no person) is remembered with its reason, as the annotate stage remembers quarantines.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

from PIL import Image

from components.annotate.cache import AnnotateCache
from components.annotate.params import AnnotateParams
from components.annotate.person import Annotated
from components.errors import Quarantine

MEMORY_ENTRIES = 32  # photos kept in memory per process, cache folder or not


def pixels_sha256(image: Image.Image) -> str:
    """sha256 of an image's RGB pixels and size (the same picture in any file format hashes the same)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    h = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    h.update(rgb.tobytes())
    return h.hexdigest()


class PhotoAnnotator:
    """Annotates bare person photos like `vton annotate` does, each distinct photo once (`cache_dir` None:
    remembered in this process only). `computed` and `reused` count photos annotated and found again."""

    def __init__(self, settings: AnnotateParams, cache_dir: Path | None = None, annotators: list | None = None) -> None:
        self.settings = settings
        self.cache = AnnotateCache(Path(cache_dir)) if cache_dir is not None else None
        self._annotators = annotators
        self._identities: dict[str, str] | None = None
        self._memory: OrderedDict[str, Annotated | str] = OrderedDict()
        self.computed = 0
        self.reused = 0

    def annotators(self) -> list:
        """The configured annotators, built on first use (their models load when they first run)."""
        if self._annotators is None:
            from components.annotate.annotators import build_annotators

            self._annotators = build_annotators(self.settings)
        return self._annotators

    def key(self, image: Image.Image) -> str:
        """The cache key of `image` under these settings and annotators."""
        from components.annotate.engine import annotator_identities, person_key

        if self._identities is None:
            self._identities = annotator_identities(self.settings)
        return person_key("pixels:" + pixels_sha256(image), self.settings, self._identities)

    def _remember(self, key: str, value: Annotated | str) -> None:
        self._memory[key] = value
        self._memory.move_to_end(key)
        while len(self._memory) > MEMORY_ENTRIES:
            self._memory.popitem(last=False)

    def _found(self, key: str, rgb: Image.Image) -> Annotated | str | None:
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        maps = self.cache.load_maps(key) if self.cache is not None else None
        if maps is None or isinstance(maps, str):
            return maps
        from components.annotate.frame import letterbox

        frame, _, box = letterbox(rgb, self.settings.width, self.settings.height)
        return frame, maps, box

    def annotate(self, image: Image.Image) -> Annotated:
        """(frame RGB, maps in the frame, where the photo sits), as annotate_person returns them; raises
        Quarantine (also for a photo refused before) when the photo cannot be annotated."""
        from components.annotate.person import annotate_person

        rgb = image if image.mode == "RGB" else image.convert("RGB")
        key = self.key(rgb)
        found = self._found(key, rgb)
        if found is not None:
            self.reused += 1
            self._remember(key, found)
            if isinstance(found, str):
                raise Quarantine(found)
            return found
        self.computed += 1
        try:
            result = annotate_person(rgb, self.annotators(), self.settings.width, self.settings.height)
        except Quarantine as exc:
            self._store(key, exc.reason)
            raise
        self._store(key, result)
        return result

    def _store(self, key: str, value: Annotated | str) -> None:
        self._remember(key, value)
        if self.cache is not None:
            self.cache.save_maps(key, value if isinstance(value, str) else value[1])

    @property
    def where(self) -> str:
        """Where the annotations are remembered, in words."""
        return f"cache {self.cache.root}" if self.cache is not None else "this process only, no cache folder"
