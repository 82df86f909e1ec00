"""Show what a stage wrote for people to look at as Prefect artifacts: its PNGs inline, its HTML reports as links.

Stages write pictures under `reports/<stage>/`; the flow only forwards files, it never draws them.
"""

from __future__ import annotations

import base64
from pathlib import Path

from prefect.artifacts import create_link_artifact, create_markdown_artifact

# Prefect refuses events over 1.5 MB; base64 adds a third, so inline at most 1 MB of pictures per artifact
# and link the rest.
MAX_INLINE_BYTES = 1_000_000
MAX_IMAGES = 8
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
PICTURE_SUFFIXES = tuple(_MIME)  # the pictures published: those a data: URI can carry inline


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def publish_stage_pictures(stage: str, reports_dir: Path) -> int:
    """Publish `reports_dir/<stage>`'s pictures (inline) and HTML reports (links); return how many were published."""
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
        for path in images:
            rel = path.relative_to(folder).as_posix()
            size = path.stat().st_size
            if size <= budget:
                budget -= size
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"### {rel}\n\n![{rel}](data:{_MIME[path.suffix.lower()]};base64,{data})\n")
            else:
                parts.append(f"### {rel}\n\n[{path}]({path.resolve().as_uri()})\n")
        create_markdown_artifact(key=_slug(f"{stage}-pictures"), markdown="\n".join(parts),
                                 description=f"Pictures from the {stage} stage")
        published += len(images)
    for report in sorted(folder.rglob("*.html"))[:MAX_IMAGES]:
        create_link_artifact(key=_slug(f"{stage}-{report.stem}"), link=report.resolve().as_uri(),
                             link_text=f"{stage}: {report.name}", description=f"Report of the {stage} stage")
        published += 1
    return published
