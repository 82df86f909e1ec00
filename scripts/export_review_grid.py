"""Copy the champion's review grid out of MLflow into the README's figure, with where it came from.

    python scripts/export_review_grid.py [--version N] [--out benchmarks/figures/smoke_review_grid.png]

Reads the registered model's `champion` (or `--version`) in the project's MLflow store (MLFLOW_TRACKING_URI,
else sqlite:///<repo>/mlflow.db), downloads the grid its evaluation tagged (`vton.eval.review_grid`), writes it
as an optimised PNG and prints one line naming the version, run, profile and code version: the caption the
README carries under the picture. Regenerate the figure with `make run` (the smoke retrain), then this script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "benchmarks" / "figures" / "smoke_review_grid.png"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", help="model version (default: the champion)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    import mlflow
    from PIL import Image

    from components.params import load_params
    from components.tracking.contract import Tag
    from components.tracking.mlflow_run import tracking_uri

    params = load_params(ROOT / "params.yaml")
    name = params.project.registered_model
    mlflow.set_tracking_uri(tracking_uri(ROOT))
    client = mlflow.MlflowClient()
    mv = (client.get_model_version(name, args.version) if args.version
          else client.get_model_version_by_alias(name, "champion"))
    grid_uri = (mv.tags or {}).get(Tag.EVAL_REVIEW_GRID)
    if not grid_uri:
        raise SystemExit(f"{name} v{mv.version} has no {Tag.EVAL_REVIEW_GRID} tag: run `vton evaluate` on it first")
    tags = client.get_run(mv.run_id).data.tags
    with tempfile.TemporaryDirectory() as tmp:
        image = Image.open(mlflow.artifacts.download_artifacts(artifact_uri=grid_uri, dst_path=tmp)).convert("RGB")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        image.save(args.out, optimize=True)
    print(f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}: {name} v{mv.version}, "
          f"run {mv.run_id}, profile {tags.get(Tag.PROFILE, '?')}, code {tags.get(Tag.CODE_VERSION, '?')}, "
          f"data {tags.get(Tag.DATA_VERSION, '?')}, {image.width}x{image.height}, {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
