"""Metrics and plots are versioned the DVC way: each commit's figures can be diffed against another's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from tests.conftest import run

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import json, os, yaml
lr = yaml.safe_load(open("params.yaml"))["lr"]
os.makedirs("reports/train", exist_ok=True)
json.dump({"loss": round(1.0 - lr, 4)}, open("reports/train/metrics.json", "w"))
with open("reports/train/loss.csv", "w") as fh:
    fh.write("step,loss\\n" + "".join(f"{s},{(1.0 - lr) / (s + 1):.4f}\\n" for s in range(3)))
"""


def _entries(spec: dict, kind: str) -> list[tuple[str, dict]]:
    out = []
    for item in spec.get(kind, []):
        path, opts = next(iter(item.items())) if isinstance(item, dict) else (item, {})
        out.append((path, opts or {}))
    return out


def test_every_metrics_and_plots_file_of_the_pipeline_is_cached_so_revisions_keep_it():
    """reports/ is not in git; a `cache: false` metric would exist only in the workspace, never for HEAD~1."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    uncached = [f"{name}: {path}" for name, spec in stages.items() for kind in ("metrics", "plots")
                for path, opts in _entries(spec, kind) if opts.get("cache", True) is False]
    assert uncached == []
    assert "/reports/" in (REPO / ".gitignore").read_text().splitlines()


def test_two_committed_runs_diff_with_dvc_metrics_diff_and_dvc_plots_diff(tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "write.py").write_text(WRITER)
    (root / "params.yaml").write_text("lr: 0.1\n")
    (root / ".gitignore").write_text("/reports/\n")  # as in the project: reports/ stays out of git
    stage = {"cmd": f"{sys.executable} write.py", "deps": ["write.py"], "params": ["lr"],
             "metrics": ["reports/train/metrics.json"],
             "plots": [{"reports/train/loss.csv": {"x": "step", "y": "loss"}}]}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": stage}}, sort_keys=False))
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    for lr in (0.1, 0.3):
        (root / "params.yaml").write_text(f"lr: {lr}\n")
        run([sys.executable, "-m", "dvc", "repro"], root)
        run(["git", "add", "-A"], root)
        run(["git", "commit", "-qm", f"run lr={lr}"], root)

    diff = json.loads(run([sys.executable, "-m", "dvc", "metrics", "diff", "HEAD~1", "--json"], root).stdout)
    change = diff["reports/train/metrics.json"]["loss"]
    assert change["old"] == 0.9 and change["new"] == 0.7

    plots = json.loads(run([sys.executable, "-m", "dvc", "plots", "diff", "HEAD~1", "HEAD", "--json"], root).stdout)
    text = json.dumps(plots)
    assert "HEAD~1" in text and "0.9" in text and "0.7" in text  # both revisions' loss curves are there
