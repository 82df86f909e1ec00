"""Stage pictures reach the Prefect UI as artifacts: pictures inline (never `file://` links), reports by name."""

import asyncio

import pytest
from PIL import Image
from prefect import flow

from flows.artifacts import publish_stage_pictures

pytestmark = pytest.mark.slow


def read_artifacts() -> list:
    """Every artifact on the Prefect API the test session uses."""
    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await client.read_artifacts()

    return asyncio.run(read())


def test_stage_pngs_and_reports_become_prefect_artifacts(tmp_path, real_photos):
    stage_dir = tmp_path / "reports" / "annotate"
    stage_dir.mkdir(parents=True)
    real_photos["astronaut"].resize((64, 64)).save(stage_dir / "overlay_upper_body.png")
    Image.new("RGB", (8, 8)).save(stage_dir / "grid.png")
    (stage_dir / "report.html").write_text("<html>ok</html>")

    @flow
    def show() -> int:
        return publish_stage_pictures("annotate", tmp_path / "reports")

    assert show() == 3

    by_key = {a.key: a for a in read_artifacts() if a.key}
    pictures = by_key["annotate-pictures"]
    assert pictures.type == "markdown"
    assert pictures.data.count("data:image/png;base64,") == 2
    assert "overlay_upper_body.png" in pictures.data
    report = by_key["annotate-report"].data
    assert f"`{stage_dir / 'report.html'}`" in report and "file://" not in report


def test_a_stage_without_reports_publishes_nothing(tmp_path):
    assert publish_stage_pictures("import", tmp_path / "reports") == 0


def test_pictures_beyond_prefects_event_budget_are_shown_as_previews_never_as_file_links(tmp_path):
    import numpy as np

    stage_dir = tmp_path / "reports" / "evaluate" / "images"
    stage_dir.mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    Image.fromarray(noise).save(stage_dir / "big.png")  # ~1.4 MB: over the inline budget
    Image.new("RGB", (8, 8)).save(stage_dir / "small.jpg")

    @flow
    def show() -> int:
        return publish_stage_pictures("evaluate", tmp_path / "reports")

    assert show() == 2
    data = next(a.data for a in read_artifacts() if a.key == "evaluate-pictures" and "big.png" in a.data)
    assert data.count("data:image/jpeg;base64,") == 2  # the small JPEG and the big PNG's JPEG preview
    assert "data:image/png;base64," not in data and "file://" not in data
    assert "images/big.png (preview" in data and "of 700x700)" in data
    assert len(data) < 1_500_000  # under Prefect's event limit
