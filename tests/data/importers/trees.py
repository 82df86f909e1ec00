"""DressCode and VITON-HD source trees with the published file names and pair lists, built from real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.data.images import garment, jpeg_bytes, write

CATEGORY_NAMES = ("upper_body", "lower_body", "dresses")


def person_photo(real_photos, k: int) -> Image.Image:
    """A distinct real person photo per k (Grace Hopper or the astronaut, one pixel marked so hashes differ)."""
    base = real_photos["grace_hopper" if k % 2 else "astronaut"].resize((192, 256))
    arr = np.asarray(base).copy()
    arr[0, k % 192] = (k * 37 % 255, k * 11 % 255, 3)
    return Image.fromarray(arr)


def garment_photo(k: int) -> Image.Image:
    """A flat garment on white, a different colour per k."""
    return garment(((k * 53) % 200 + 30, (k * 97) % 200 + 30, (k * 29) % 200 + 30))


def dresscode_tree(root: Path, real_photos, per_category: dict[str, tuple[int, int]]) -> dict[str, list[str]]:
    """A DressCode tree: `per_category` maps a category to (train persons, test persons); per-category lists only.

    Returns {category: [DressCode ids in order, train first]}; test_pairs_unpaired.txt pairs each test person
    with the previous test person's garment (so it differs from evaluate's next-person rule)."""
    ids: dict[str, list[str]] = {}
    k = 0
    for c, category in enumerate(CATEGORY_NAMES):
        if category not in per_category:
            continue
        n_train, n_test = per_category[category]
        names = [f"{c}{i:05d}" for i in range(n_train + n_test)]
        for pid in names:
            write(root / category / "images" / f"{pid}_0.jpg", jpeg_bytes(person_photo(real_photos, k)))
            write(root / category / "images" / f"{pid}_1.jpg", jpeg_bytes(garment_photo(k)))
            k += 1
        train, test = names[:n_train], names[n_train:]
        (root / category / "train_pairs.txt").write_text("".join(f"{p}_0.jpg {p}_1.jpg\n" for p in train))
        (root / category / "test_pairs_paired.txt").write_text("".join(f"{p}_0.jpg {p}_1.jpg\n" for p in test))
        (root / category / "test_pairs_unpaired.txt").write_text(
            "".join(f"{p}_0.jpg {test[i - 1]}_1.jpg\n" for i, p in enumerate(test)))
        ids[category] = names
    return ids


def viton_hd_tree(root: Path, real_photos, n_train: int, n_test: int) -> list[str]:
    """A VITON-HD tree; test_pairs.txt is unpaired as published (each person with the previous one's cloth)."""
    names = [f"{i:05d}_00.jpg" for i in range(n_train + n_test)]
    splits = {"train": names[:n_train], "test": names[n_train:]}
    for k, name in enumerate(names):
        split = "train" if k < n_train else "test"
        write(root / split / "image" / name, jpeg_bytes(person_photo(real_photos, k)))
        write(root / split / "cloth" / name, jpeg_bytes(garment_photo(k)))
        write(root / split / "cloth-mask" / name, jpeg_bytes(garment((255, 255, 255)).convert("L")))
    (root / "train_pairs.txt").write_text("".join(f"{n} {n}\n" for n in splits["train"]))
    test = splits["test"]
    (root / "test_pairs.txt").write_text("".join(f"{n} {test[i - 1]}\n" for i, n in enumerate(test)))
    return names


def import_tree(kind: str, root: Path, out: Path):
    """Import one source tree with the project's importer; the manifest as written."""
    from components.data.importers import import_sources
    from components.data.params import ImportParams, ImportSource
    from components.manifest.schema import read_manifest

    import_sources(ImportParams(sources=[ImportSource(kind=kind, path=str(root))]), out, out.parent)
    return read_manifest(out)


def annotated_tree(kind: str, root: Path, work: Path) -> Path:
    """Import `root` and annotate it (MediaPipe pose, small frames): the annotated dataset directory."""
    from components.annotate.params import AnnotateParams
    from components.annotate.run import annotate_dataset

    import_tree(kind, root, work / "imported")
    annotate_dataset(work / "imported", work / "annotated", AnnotateParams(width=96, height=128), work / "cache")
    return work / "annotated"
