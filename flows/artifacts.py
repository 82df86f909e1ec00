"""Show what a stage wrote for people to look at as Prefect artifacts: its pictures inline, its reports by name.

Stages write pictures under `reports/<stage>/`; the flow only forwards files (it re-encodes a picture too big
for Prefect's event limit as a smaller JPEG, never draws one). No `file://` links: a browser on the Prefect UI
cannot open them, so every picture is inline and an HTML report is named with where to find it.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

from prefect.artifacts import create_markdown_artifact

# Prefect refuses events over 1.5 MB; base64 adds a third, so inline at most 1 MB of pictures per artifact.
MAX_INLINE_BYTES = 1_000_000
MAX_IMAGES = 8
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
PICTURE_SUFFIXES = tuple(_MIME)  # the pictures published: those a data: URI can carry inline


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def _inline(path: Path, budget: int) -> tuple[str, bytes, str]:
    """(mime, bytes, note) for `path`: the file itself when it fits `budget`, else a JPEG thumbnail that does."""
    data = path.read_bytes()
    if len(data) <= budget:
        return _MIME[path.suffix.lower()], data, ""
    from PIL import Image

    with Image.open(path) as img:
        picture = img.convert("RGB")
    full = picture.size
    for side in (1024, 768, 512, 384, 256, 128):
        picture.thumbnail((side, side))
        buf = io.BytesIO()
        picture.save(buf, format="JPEG", quality=80)
        if buf.tell() <= budget:
            shown = f"{picture.size[0]}x{picture.size[1]}"
            return "image/jpeg", buf.getvalue(), f" (preview {shown} of {full[0]}x{full[1]})"
    return "", b"", " (too large to show here)"


def publish_stage_pictures(stage: str, reports_dir: Path, mlflow_run_id: str | None = None) -> int:
    """Publish `reports_dir/<stage>`'s pictures (inline) and name its HTML reports; return how many were published."""
    folder = reports_dir / stage
    if not folder.is_dir():
        return 0
    published = 0
    # Pictures directly in the stage's folder or one level down (e.g. evaluate/images/); not per-sample dumps.
    candidates = [*folder.glob("*"), *folder.glob("*/*")]
    images = sorted(p for p in candidates if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES)[:MAX_IMAGES]
    if images:
        parts = [f"## {stage}: pictures\n"]
        budget = MAX_INLINE_BYTES
        for i, path in enumerate(images):
            rel = path.relative_to(folder).as_posix()
            share = budget // (len(images) - i)  # what is left, shared by the pictures still to come
            mime, data, note = _inline(path, share)
            if data:
                budget -= len(data)
                parts.append(f"### {rel}{note}\n\n![{rel}](data:{mime};base64,{base64.b64encode(data).decode()})\n")
            else:
                parts.append(f"### {rel}{note}\n\n`{path}`\n")
        create_markdown_artifact(key=_slug(f"{stage}-pictures"), markdown="\n".join(parts),
                                 description=f"Pictures from the {stage} stage")
        published += len(images)
    for report in sorted(folder.rglob("*.html"))[:MAX_IMAGES]:
        where = f" and on the MLflow run `{mlflow_run_id}` under `{stage}/{report.name}`" if mlflow_run_id else ""
        create_markdown_artifact(
            key=_slug(f"{stage}-{report.stem}"),
            markdown=f"## {stage}: {report.name}\n\nOpen `{report.resolve()}` in a browser (it works offline){where}.",
            description=f"Report of the {stage} stage")
        published += 1
    return published
