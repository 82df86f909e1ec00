"""Import speed: the folder import of N pairs at the old and new encode settings, and Parquet rows/s.

    python benchmarks/import.py [--pairs 500] [--repeats 3] [--rows 500 2000] [--content studio|photo]
                                [--baseline-repo /path/to/old/checkout]
    python benchmarks/import.py --pairs 4 --repeats 2 --rows 8      # a quick check that it runs (seconds)

1. Folder import, `--pairs` pairs made from real photographs (scikit-image / matplotlib photos, turned and
   cropped into distinct 384x512 JPEGs, each photo turned once per angle; `studio`: the person on a plain
   backdrop and the garment cut on white, as try-on data is shot; `photo`: whole busy photographs), cold (no
   normalised-image cache); the time to build them is printed. Interleaved pairs of runs, the order
   alternating: old setting (zlib level 6, default strategy, Pillow's adaptive PNG
   filter, one thread: the import before this change) vs new (the params defaults: level 1, run-length
   strategy, Up filter, every core). Median and
   spread (min-max) and the median of per-pair ratios (benchmarks/lib/timing.py): the PNG setting alone (one
   thread each), then threads (new setting, one vs every core), then the whole command `vton data import` as
   a user runs it (params.yaml in a temp project). With --baseline-repo, the old setting
   runs that checkout's code (e.g. the main branch before the change) instead of this one's.
   Outputs are checked byte-identical across repeats of one setting.
2. deepFashion-with-masks stand-in shards (the published columns; 4 views per pid): rows/s of the streaming
   reader alone and of the whole import, and the reader's peak RSS at each --rows count (flat: memory does not
   grow with the row count).

Figures compare with each other on this machine only (cores shared with whatever else runs).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("VTON_QUIET", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.lib.timing import Paired, Spread, command_seconds, load_line, paired, timed  # noqa: E402

SIZE = (384, 512)
OLD = {"png_compress_level": 6, "png_zlib_strategy": "default", "png_filter": "adaptive", "workers": 1}
NEW: dict = {}  # the params defaults
IMPORT_GOAL = 3.0  # issue 19: the import at least 3x faster than the old level-6 path on 500 pairs


def _photos():
    import io

    import matplotlib.cbook
    import numpy as np
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = Image.open(io.BytesIO(fh.read())).convert("RGB")
    return [Image.fromarray(skimage.data.astronaut()), hopper, Image.fromarray(skimage.data.coffee()),
            Image.fromarray(np.asarray(skimage.data.camera())).convert("RGB"), Image.fromarray(skimage.data.chelsea())]


TURNS = 17  # _variant turns each photo by one of 17 angles (-8..8 degrees)


class Variants:
    """Distinct 384x512 views of the source photos; each photo's turned copies are made once per angle (the
    turn is the costly step and there are only TURNS of them per photo), so the views are the same bytes."""

    def __init__(self, photos) -> None:
        self.photos = photos
        self._turned: dict[tuple[int, int], object] = {}

    def view(self, k: int, i: int):
        """View `i` of photo `k % len(photos)`: turned, cropped and mirrored by `i`."""
        from PIL import Image

        k %= len(self.photos)
        angle = (i % TURNS) - 8
        turned = self._turned.get((k, angle))
        if turned is None:
            turned = self._turned[(k, angle)] = self.photos[k].rotate(angle, resample=Image.BILINEAR,
                                                                      fillcolor=(250, 250, 250))
        w, h = self.photos[k].size
        dx, dy = (i * 7) % max(w // 8, 1), (i * 11) % max(h // 8, 1)
        crop = turned.crop((dx, dy, dx + w * 7 // 8, dy + h * 7 // 8)).resize(SIZE, Image.BILINEAR)
        return crop.transpose(Image.FLIP_LEFT_RIGHT) if i % 2 else crop


def _studio(photo):
    """`photo` as a studio shot: its foreground on a plain light backdrop, as try-on datasets photograph people."""
    import numpy as np
    from PIL import Image

    from tests.data.importers.deepfashion_standin import derived_labels

    fg = derived_labels(photo, "binary") > 0
    pixels = np.asarray(photo).copy()
    pixels[~fg] = (236, 236, 234)
    return Image.fromarray(pixels)


def _garment(photo):
    """A garment shot: the upper part of `photo`'s foreground cut on white, centred on a 384x512 canvas."""
    from PIL import Image

    from components.data.importers.garment_cut import DEEPFASHION_LABELS, cut_garment, garment_region, label_map
    from tests.data.importers.deepfashion_standin import derived_labels

    labels = label_map(Image.fromarray(derived_labels(photo, "parse")))
    region = garment_region(labels, DEEPFASHION_LABELS["upper_body"])
    cut = cut_garment(photo, region) if region.any() else photo
    cut.thumbnail((SIZE[0] - 40, SIZE[1] - 40))
    canvas = Image.new("RGB", SIZE, (255, 255, 255))
    canvas.paste(cut, ((SIZE[0] - cut.width) // 2, (SIZE[1] - cut.height) // 2))
    return canvas


def build_folder(root: Path, pairs: int, content: str = "studio") -> Path:
    """`pairs` person/garment JPEG pairs with a pairs.csv: studio shots and garments on white, or whole photos."""
    views = Variants(_photos())
    lines = ["person,garment,category"]
    (root / "p").mkdir(parents=True)
    (root / "g").mkdir()
    for i in range(pairs):
        person = views.view(i, i)
        cloth = views.view(i + 2, i + 5)
        if content == "studio":
            person, cloth = _studio(person), _garment(cloth)
        person.save(root / "p" / f"{i:05d}.jpg", quality=90)
        cloth.save(root / "g" / f"{i:05d}.jpg", quality=90)
        lines.append(f"p/{i:05d}.jpg,g/{i:05d}.jpg,upper_body")
    (root / "pairs.csv").write_text("\n".join(lines) + "\n")
    return root


def build_shards(root: Path, rows: int, shards: int = 4) -> Path:
    """`rows` rows in the published deepFashion-with-masks layout, over `shards` Parquet files, 4 views a pid."""
    import datasets
    from PIL import Image

    from tests.data.importers.deepfashion_standin import derived_labels

    variants = Variants(_photos())
    views = ("01_1_front", "01_2_side", "01_3_back", "01_4_full")
    per_shard = -(-rows // shards)
    features = datasets.Features({
        "images": datasets.Image(), "mask": datasets.Image(), "mask_overlay": datasets.Image(),
        **{k: datasets.Value("string") for k in ("gender", "pose", "cloth_type", "pid", "caption")},
    })
    import io

    def png(img) -> dict:
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return {"bytes": buf.getvalue(), "path": None}

    def jpg(img) -> dict:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=90)
        return {"bytes": buf.getvalue(), "path": None}

    root.mkdir(parents=True)
    for s in range(shards):
        data: dict[str, list] = {k: [] for k in features}
        for i in range(s * per_shard, min(rows, (s + 1) * per_shard)):
            photo = variants.view(i, i)
            labels = derived_labels(photo, "parse")
            data["images"].append(jpg(photo))
            data["mask"].append(png(Image.fromarray(labels, "L")))
            data["mask_overlay"].append(jpg(Image.blend(photo, Image.fromarray(labels * 10).convert("RGB"), 0.5)))
            data["gender"].append("WOMEN")
            data["pose"].append(views[i % 4])
            data["cloth_type"].append("Tees_Tanks")
            data["pid"].append(f"id_{i // 4:08d}")
            data["caption"].append("The lady wears a short-sleeve T-shirt.")
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(root / f"train-{s:05d}-of-{shards:05d}.parquet"), batch_size=64)
    return root


def digest(out: Path) -> str:
    """One hash over every file's path and bytes under `out`."""
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(out)).encode() + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def in_process(folder: Path, out: Path, setting: dict) -> float:
    """Seconds for one cold import of `folder` with `setting` (ImportParams overrides), in this process."""
    from components.data.importers import import_sources
    from components.data.params import ImportParams, ImportSource

    shutil.rmtree(out, ignore_errors=True)
    params = ImportParams(sources=[ImportSource(kind="folder", path=str(folder))], cache_dir=None, **setting)
    return timed(lambda: import_sources(params, out, folder.parent))


def whole_command(project: Path, folder: Path, setting: dict, code: Path) -> float:
    """Seconds for `vton data import` as a user runs it, in `project`, with `code` on PYTHONPATH."""
    import yaml

    section = {"sources": [{"kind": "folder", "path": str(folder)}], "cache_dir": None, **setting}
    (project / "params.yaml").write_text(yaml.safe_dump({"profile": "smoke", "import": section}))
    shutil.rmtree(project / "data", ignore_errors=True)
    vton = shutil.which("vton") or str(Path(sys.executable).parent / "vton")
    return command_seconds([vton, "data", "import", "--out", str(project / "data" / "imported")], cwd=project,
                           env={"PYTHONPATH": str(code), "VTON_PROJECT_ROOT": str(project)})


def speed_up(pair: Paired) -> str:
    """How many times faster B is than A: the median of the per-pair ratios A / B, with their spread."""
    return Spread([1 / r for r in pair.ratios.values]).text(unit="x", digits=2)


READER_CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from components.data.importers.hf import read_hf
start = time.perf_counter()
n = sum(1 for c in read_hf({path!r}, "seed", "apache-2.0", "train", None))
took = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss would count the parent's pages copied at fork).
peak_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(n, took, peak_kb)
"""


def parquet_figures(tmp: Path, counts: list[int]) -> None:
    """Rows/s of the reader and of the whole import, and the reader's peak RSS, per row count."""
    from components.data.importers import import_sources
    from components.data.params import ImportParams, ImportSource

    print("deepFashion-with-masks stand-in (local Parquet shards, 4 views a pid, 384x512):")
    for n in counts:
        shards = build_shards(tmp / f"shards{n}", n)
        size_mb = sum(p.stat().st_size for p in shards.iterdir()) / 2**20
        child = subprocess.run([sys.executable, "-c", READER_CHILD.format(repo=str(REPO), path=str(shards))],
                               capture_output=True, text=True, check=True)
        rows, took, peak_kb = child.stdout.split()
        params = ImportParams(sources=[ImportSource(kind="hf", path=str(shards))], cache_dir=None)
        report = None

        def run() -> None:
            nonlocal report
            report = import_sources(params, tmp / f"imported{n}", tmp)

        whole = timed(run)
        print(f"  {n:>6} rows ({size_mb:5.0f} MB): reader {int(rows) / float(took):7.1f} rows/s, peak RSS "
              f"{int(peak_kb) / 1024:6.0f} MB; import {n / whole:6.1f} rows/s ({report.ok} ok, "
              f"{report.quarantined} quarantined)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, nargs="*", default=[500, 2000])
    parser.add_argument("--content", choices=["studio", "photo"], default="studio",
                        help="studio: people on a plain backdrop, garments on white (as try-on data is shot); "
                             "photo: the whole photographs, busy backgrounds and all (harder to compress)")
    parser.add_argument("--baseline-repo", type=Path, default=None,
                        help="checkout whose code runs the old setting in the whole-command figure")
    args = parser.parse_args()
    from components.data.importers.ingest import import_workers

    print(load_line())
    with tempfile.TemporaryDirectory(prefix="vton-bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        built = timed(lambda: build_folder(tmp / "shop", args.pairs, args.content))
        folder = tmp / "shop"
        cores = import_workers(0)
        print(f"folder import, {args.pairs} pairs of 384x512 JPEGs ({args.content}, inputs built in {built:.1f} s), "
              f"cold, {cores} threads by default")
        hashes: dict[str, set[str]] = {"old": set(), "new1": set(), "new": set()}

        def run(setting: dict, key: str) -> float:
            took = in_process(folder, tmp / f"out-{key}", setting)
            hashes[key].add(digest(tmp / f"out-{key}"))
            return took

        settings = paired(lambda: run(OLD, "old"), lambda: run({**NEW, "workers": 1}, "new1"), args.repeats)
        print(f"in process, the PNG setting (one thread each), {load_line()}:")
        print(settings.text("old (level 6, default strategy, adaptive filter)", "new (level 1, rle, up)"))
        print(f"  speed-up: {speed_up(settings)}")
        threads = paired(lambda: run({**NEW, "workers": 1}, "new1"), lambda: run(NEW, "new"), args.repeats)
        print(f"in process, threads (new setting): 1 vs {cores}:")
        print(threads.text("1 thread", f"{cores} threads"))
        print(f"  speed-up: {speed_up(threads)}")
        overall = statistics.median(settings.a.values) / statistics.median(threads.b.values)
        print(f"  old -> new defaults: {overall:.2f}x (median old / median new; goal >= {IMPORT_GOAL}x: "
              f"{'met' if overall >= IMPORT_GOAL else 'missed'})")
        print(f"  outputs byte-identical across repeats: {all(len(h) == 1 for h in hashes.values())}; "
              f"1 thread = {cores} threads: {hashes['new'] == hashes['new1']}")
        sizes = {k: sum(p.stat().st_size for p in (tmp / f"out-{k}").rglob("*.png")) / 2**20 for k in ("old", "new")}
        print(f"  PNG bytes written: old {sizes['old']:.1f} MB, new {sizes['new']:.1f} MB "
              f"(+{(sizes['new'] / sizes['old'] - 1) * 100:.0f}%)")

        project = tmp / "project"
        project.mkdir()
        base = args.baseline_repo.resolve() if args.baseline_repo else REPO
        label = f"{base.name} code, its defaults" if args.baseline_repo else "old setting"
        command = paired(lambda: whole_command(project, folder, {} if args.baseline_repo else OLD, base),
                         lambda: whole_command(project, folder, NEW, REPO), args.repeats)
        print(f"vton data import, the whole command as a user runs it, {load_line()}:")
        print(command.text(label, "this branch, new defaults"))
        whole = statistics.median([1 / r for r in command.ratios.values])
        print(f"  speed-up: {speed_up(command)} (goal >= {IMPORT_GOAL}x: {'met' if whole >= IMPORT_GOAL else 'missed'})")
        if args.rows:
            parquet_figures(tmp, args.rows)
        print(load_line())


if __name__ == "__main__":
    main()
