"""Stage pictures reach the Prefect UI as artifacts: pictures inline (never `file://` links), reports by name."""

import asyncio

import pytest
from PIL import Image
from prefect import flow

from flows.artifacts import publish_stage_pictures

pytestmark = pytest.mark.slow


def read_artifacts(flow_run_id: str) -> list:
    """The artifacts one flow run published: the session's Prefect API also holds those of every earlier test that
    ran in this process."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as client:
            # Filtered by the server: an unfiltered read returns one page, which a busy store fills with others.
            return await client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))

    return asyncio.run(read())


def published_by(stage: str, reports):
    """Run a flow that publishes `stage`'s pictures under `reports`: (what it published, its flow run id)."""
    from prefect.runtime import flow_run

    @flow
    def show() -> tuple[int, str]:
        return publish_stage_pictures(stage, reports), str(flow_run.id)

    return show()


def test_stage_pngs_and_reports_become_prefect_artifacts(tmp_path, real_photos):
    stage_dir = tmp_path / "reports" / "annotate"
    stage_dir.mkdir(parents=True)
    real_photos["astronaut"].resize((64, 64)).save(stage_dir / "overlay_upper_body.png")
    Image.new("RGB", (8, 8)).save(stage_dir / "grid.png")
    (stage_dir / "report.html").write_text("<html>ok</html>")

    published, run_id = published_by("annotate", tmp_path / "reports")
    assert published == 3

    by_key = {a.key: a for a in read_artifacts(run_id) if a.key}
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

    published, run_id = published_by("evaluate", tmp_path / "reports")
    assert published == 2
    (data,) = [a.data for a in read_artifacts(run_id) if a.key == "evaluate-pictures"]
    assert data.count("data:image/jpeg;base64,") == 2  # the small JPEG and the big PNG's JPEG preview
    assert "data:image/png;base64," not in data and "file://" not in data
    assert "images/big.png (preview" in data and "of 700x700)" in data
    assert len(data) < 1_500_000  # under Prefect's event limit
