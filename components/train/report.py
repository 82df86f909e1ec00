"""Pictures and files a reviewer looks at: the validation grid per category and the loss curve."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image

from components.train.canvas import grid
from components.train.data import TrainSample
from components.train.inference import TryOnPipeline
from components.train.size_map import sample_size_map


def validation_grid(
    pipeline: TryOnPipeline, samples: list[TrainSample], per_category: int, steps: int, seed: int = 0
) -> Image.Image | None:
    """Rows of garment | masked person | generated | ground truth, `per_category` samples of each category."""
    rows, taken = [], {}
    for s in samples:
        if taken.get(s.category, 0) >= per_category:
            continue
        taken[s.category] = taken.get(s.category, 0) + 1
        with Image.open(s.person) as p, Image.open(s.garment) as g, Image.open(s.mask) as m:
            person, garment, mask = p.convert("RGB"), g.convert("RGB"), m.convert("L")
        canvas = pipeline.canvas(person, garment, mask)
        size_map = sample_size_map(s, canvas.panel) if pipeline.reads_size_map else None  # the training map
        out = pipeline.generate_canvas(canvas, s.category, steps, seed, size_map=size_map)
        w = canvas.panel[0]
        masked = canvas.masked_image()
        rows.append([
            canvas.image.crop((0, 0, w, canvas.panel[1])),
            masked.crop((w, 0, 2 * w, canvas.panel[1])),
            out.crop((w, 0, 2 * w, canvas.panel[1])),
            canvas.image.crop((w, 0, 2 * w, canvas.panel[1])),
        ])
    if not rows:
        return None
    cell = (max(96, rows[0][0].width), max(128, rows[0][0].height))
    return grid(rows, cell)


def write_loss_csv(losses: list[float], path: Path, start: int = 1) -> None:
    """reports/train/loss.csv: one row per optimizer step (DVC plots it)."""
    write_loss_rows(list(enumerate(losses, start=start)), path)


def write_loss_rows(rows: list[tuple[int, float]], path: Path) -> None:
    """reports/train/loss.csv from (step, loss) rows (DVC plots it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "loss"])
        for step, loss in rows:
            w.writerow([step, f"{loss:.6f}"])


LOSS_REGION_LABELS = {"canvas": "whole canvas", "person": "person half"}


def loss_curve_png(losses: list[float], path: Path, loss_region: str = "person", ylabel: str | None = None,
                   steps: list[int] | None = None) -> Path:
    """A PNG of the loss per step with a moving average; the axis names what the loss covers (train.loss_region,
    or `ylabel` for the baseline families' own losses)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    steps = steps or list(range(1, len(losses) + 1))
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss")
    k = max(1, len(losses) // 10)
    avg = [sum(losses[max(0, i - k + 1): i + 1]) / len(losses[max(0, i - k + 1): i + 1]) for i in range(len(losses))]
    ax.plot(steps, avg, lw=1.6, label=f"moving average ({k})")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel or f"flow-matching loss ({LOSS_REGION_LABELS.get(loss_region, loss_region)})")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
