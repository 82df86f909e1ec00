"""Time the data-quality gate on synthetic manifests of 1k, 10k and 100k samples (statistics precomputed, as
annotate stores them) and print the figures and their growth.

Files: every row names six files that exist (a pool of 1,000 per folder, reused across rows, so the benchmark
does not write 600k files); existence is checked for every row, `--decode-sample` files per column are decoded
(default 200, params.yaml's base `validate.completeness.decode_sample`; the smoke profile decodes every file,
-1, which at 100k samples is 600k decodes). A last figure shows the per-sample cost when validate must compute
the keypoint and cloth-mask statistics from files itself (annotate did not store them). Then, at the largest
size, the whole `vton validate` command as a user runs it (process start, the Great Expectations import,
reading the manifest, the HTML report and metrics; MLflow logging on a throwaway SQLite store) beside the
in-process facts + gate figure, as interleaved pairs, both with the same params (a temp project's
params.yaml), and what the command's fixed costs are in a fresh process (imports, params, the MLflow run).

    python benchmarks/validate.py [--sizes 1000 10000 100000] [--repeats 3] [--decode-sample 200]

`make bench` runs the defaults (about 2-4 min on the shared 2-core machine); the same sizes are the full ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VTON_QUIET", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.lib.timing import REPO, Spread, command_seconds, load_line, paired, timed  # noqa: E402
from components.manifest.schema import conform, write_manifest  # noqa: E402

POOL = 1000
W, H = 384, 512
COLUMNS = {
    "person_path": ("image", "png"), "garment_path": ("cloth", "png"), "keypoints_path": ("openpose_json", "json"),
    "parse_path": ("image-parse", "png"), "agnostic_mask_path": ("agnostic-mask", "png"),
    "cloth_mask_path": ("cloth-mask", "png"),
}


def make_pool(root: Path) -> None:
    """POOL small real files per folder."""
    img = Image.new("RGB", (W // 8, H // 8), (120, 90, 60))
    mask = Image.new("L", (W // 8, H // 8), 0)
    mask.paste(255, (4, 4, W // 8 - 4, H // 8 - 4))
    doc = json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": [10.0, 10.0, 0.9] * 25}]})
    for folder, ext in COLUMNS.values():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(POOL):
            path = root / folder / f"{i:05d}.{ext}"
            if ext == "json":
                path.write_text(doc)
            else:
                (mask if "mask" in folder else img).save(path)


def synthetic_manifest(n: int, rng: np.random.Generator, precomputed: bool = True) -> pd.DataFrame:
    """`n` ok samples over three categories, 20% test, distinct random perceptual hashes, stats filled."""
    ids = np.array([f"s{i:07d}" for i in range(n)])
    pool = np.arange(n) % POOL
    df = pd.DataFrame({
        "sample_id": ids,
        "category": rng.choice(["upper_body", "lower_body", "dresses"], n),
        "split": np.where(rng.random(n) < 0.2, "test", "train"),
        "status": "ok", "source": "synthetic", "licence": "CC0",
        "source_url": [f"https://example.invalid/{i}" for i in ids],
        "person_sha256": [f"{i}p" for i in ids], "garment_sha256": [f"{i}g" for i in ids],
        "person_phash": [f"{v:016x}" for v in rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2)],
        "garment_phash": [f"{v:016x}" for v in rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2)],
        "person_width": W, "person_height": H, "garment_width": W, "garment_height": H,
        "keypoint_count": 20.0, "keypoint_confidence_mean": rng.uniform(0.6, 1.0, n),
        "cloth_mask_area": W * H * rng.uniform(0.2, 0.5, n), "agnostic_mask_area": W * H * rng.uniform(0.1, 0.4, n),
        "keypoint_visible_mask": (1 << 25) - 1 if precomputed else None,
        "cloth_mask_border_sides": 0 if precomputed else None,
    })
    for col, (folder, ext) in COLUMNS.items():
        df[col] = [f"{folder}/{i:05d}.{ext}" for i in pool]
    return conform(df)  # what read_manifest hands the stage


def make_project(root: Path, decode_sample: int) -> Path:
    """A project folder whose params.yaml is this repo's, the active profile's validate section replaced by the
    benchmark's (min_samples the synthetic splits meet, `decode_sample` files decoded per column)."""
    import yaml

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    profile = raw["profile"]
    raw["profiles"][profile]["validate"] = {"completeness": {"decode_sample": decode_sample},
                                            "distribution": {"min_samples": {"train": 10, "test": 2}}}
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (root / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())  # load_params checks flow.stages against it
    return root


FIXED_COSTS_CHILD = """
import os, sys, time
t0, c0 = time.perf_counter(), time.process_time()
marks = []
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
import components.cli
mark("the CLI's imports")
from components.params import load_params
params = load_params()
mark("load_params")
import components.validate.suites  # great_expectations, as the stage imports it
mark("import great_expectations")
import mlflow
mark("import mlflow")
from components.tracking.mlflow_run import stage_run
with stage_run("validate", params.project.mlflow_experiment):
    mlflow.log_metric("bench", 1.0)
mark("one MLflow stage run (SQLite)")
prev, cprev = t0, c0
for name, t, c in marks:
    print(f"{name}\t{t - prev}\t{c - cprev}")
    prev, cprev = t, c
"""


def fixed_costs(project: Path, env: dict[str, str], repeats: int) -> dict[str, tuple[Spread, Spread]]:
    """(wall, CPU) seconds of each fixed cost of `vton validate` in a fresh process, over `repeats` processes;
    the last entry is the rest of the process's wall time (interpreter start and shutdown)."""
    runs: dict[str, tuple[list[float], list[float]]] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", FIXED_COSTS_CHILD], cwd=project, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO), **env}, check=True)
        whole = time.perf_counter() - t0
        lines = [line.split("\t") for line in proc.stdout.strip().splitlines()]
        for name, wall, cpu in lines:
            runs.setdefault(name, ([], []))[0].append(float(wall))
            runs[name][1].append(float(cpu))
        rest = runs.setdefault("interpreter start and shutdown (wall)", ([], []))
        rest[0].append(whole - sum(float(w) for _, w, _ in lines))
    return {k: (Spread(w), Spread(c) if c else None) for k, (w, c) in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--decode-sample", type=int, default=200,
                    help="files per image column fully decoded (-1: every file, as the smoke profile does)")
    args = ap.parse_args()
    print(load_line())
    from components.params import load_params
    from components.validate.facts import build_facts
    from components.validate.gate import run_gate

    t = time.perf_counter()
    import great_expectations  # noqa: F401 - one-off import cost, reported separately

    print(f"import great_expectations: {time.perf_counter() - t:.1f} s (once per process)")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        project = make_project(Path(tmp) / "project", args.decode_sample)
        # In-process and the whole command use the same params: the project's, as `vton validate` loads them.
        loaded = load_params(project / "params.yaml")
        params, frame_area = loaded.validate_, float(loaded.annotate.width * loaded.annotate.height)
        print(f"params: {project / 'params.yaml'} (profile {loaded.profile}), decode_sample "
              f"{params.completeness.decode_sample} per column")
        make_pool(root)
        rows = []
        for n in args.sizes:
            df = synthetic_manifest(n, rng)
            t0 = time.perf_counter()
            facts = build_facts(df, root, params, frame_area)
            t1 = time.perf_counter()
            result = run_gate(facts, params)
            t2 = time.perf_counter()
            rows.append((n, t1 - t0, t2 - t1, t2 - t0, result.passed))
        print(f"{'samples':>9} {'facts s':>8} {'GX gate s':>9} {'total s':>8} {'us/sample':>9} {'growth':>7}  gate")
        prev = None
        for n, f, g, total, ok in rows:
            growth = f"x{total / prev[1]:.1f}/x{n / prev[0]:.0f}" if prev else "-"
            print(f"{n:>9,} {f:>8.2f} {g:>9.2f} {total:>8.2f} {total / n * 1e6:>9.1f} {growth:>7}  {'passed' if ok else 'FAILED'}")
            prev = (n, total)
        n = 1_000
        df = synthetic_manifest(n, rng, precomputed=False)
        t0 = time.perf_counter()
        build_facts(df, root, params, frame_area)
        print(f"statistics computed from files (annotate did not store them): "
              f"{(time.perf_counter() - t0) / n * 1e3:.2f} ms/sample on {n:,} samples")

        n = max(args.sizes)
        df = synthetic_manifest(n, rng)
        write_manifest(df, root)  # paths are relative to the manifest's folder, as a stage writes them
        cmd = ["vton", "validate", "--manifest", str(root), "--out", str(root / "report")]
        env = {"VTON_PROJECT_ROOT": str(project), "MLFLOW_TRACKING_URI": f"sqlite:///{Path(tmp) / 'mlflow.db'}",
               "MLFLOW_ARTIFACT_ROOT": (Path(tmp) / "mlartifacts").as_uri()}

        def in_process() -> float:
            return timed(lambda: run_gate(build_facts(df, root, params, frame_area), params))

        # exit 3 is the gate refusing the synthetic data under the project's rules: still a whole run
        print(f"{n:,} samples, whole command vs in-process (interleaved pairs, same params), {load_line()}:")
        pairs = paired(in_process, lambda: command_seconds(cmd, project, env, ok=(0, 3)), args.repeats)
        print(pairs.text("facts + GX gate in-process", "`vton validate` whole command"))
        gap = Spread([b - a for a, b in zip(pairs.a.values, pairs.b.values)])
        print(f"  whole command - in-process: {gap.text()} (per pair)")
        quiet_cmd = [*cmd, "--no-mlflow"]
        logged = paired(lambda: command_seconds(quiet_cmd, project, env, ok=(0, 3)),
                        lambda: command_seconds(cmd, project, env, ok=(0, 3)), args.repeats)
        print(logged.text("`vton validate --no-mlflow`", "`vton validate` (logging to MLflow)"))
        print(f"the command's fixed costs in a fresh process (median of {args.repeats}), {load_line()}:")
        costs = fixed_costs(project, env, args.repeats)
        for name, (wall, cpu) in costs.items():
            print(f"  {name:40s} wall {wall.text()}" + (f"; CPU {cpu.text()}" if cpu else ""))
        print(f"  {'sum of the wall medians':40s} {sum(w.median for w, _ in costs.values()):.3f} s (the rest of the "
              "gap: reading the manifest, the report, metrics and suites files)")
        print(load_line())


if __name__ == "__main__":
    main()
