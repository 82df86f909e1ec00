"""Where each file of the annotate layout lies (layout.py describes the layout), and pruning the files no row
lists: plain paths, no numpy or PIL, so a whole-run restore (whole_run.py) can use them before either loads."""

from __future__ import annotations

from pathlib import Path

from components.manifest.names import SPLITS

# manifest column -> path template (relative to the dataset directory)
PATHS: dict[str, str] = {
    "person_path": "{split}/image/{id}.jpg",
    "garment_path": "{split}/cloth/{id}.jpg",
    "cloth_mask_path": "{split}/cloth-mask/{id}.png",
    "parse_path": "{split}/image-parse-v3/{id}.png",
    "parse_atr_path": "{split}/image-parse-atr/{id}.png",
    "keypoints_path": "{split}/openpose_json/{id}_keypoints.json",
    "pose_render_path": "{split}/openpose_img/{id}_rendered.png",
    "keypoints_coco18_path": "{split}/keypoints/{id}.json",
    "person_mask_path": "{split}/person-mask/{id}.png",
    "agnostic_mask_path": "{split}/agnostic-mask/{id}_mask.png",
    "agnostic_path": "{split}/agnostic-v3.2/{id}.jpg",
    "densepose_path": "{split}/image-densepose/{id}.png",
    "densepose_iuv_path": "{split}/densepose-iuv/{id}.png",
}
LAYOUT_DIRS: tuple[str, ...] = tuple(sorted({t.split("/")[1] for t in PATHS.values()}))


def path_for(column: str, split: str, sample_id: str) -> str:
    """The relative path of `column`'s file for a sample."""
    return PATHS[column].format(split=split, id=sample_id)


def prune_unreferenced(out_dir: Path, referenced: set[str]) -> int:
    """Delete layout files no manifest row references (left by samples that are gone); return how many."""
    removed = 0
    for split in SPLITS:
        for sub in LAYOUT_DIRS:
            folder = out_dir / split / sub
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                if f.is_file() and f"{split}/{sub}/{f.name}" not in referenced:
                    f.unlink()
                    removed += 1
    return removed
