"""Augment on Ray vs in this process: variants/s locally and on Ray with 1 and 2 actors, and what a shard costs.

    python benchmarks/augment_ray.py [--samples 12] [--size 384x512] [--repeats 3]

Starts its own Ray cluster on 127.0.0.1 (benchmarks/annotate_ray.py's LocalCluster: `ray start --head
--num-cpus 2`, token authentication, stopped at the end), so the figures are Ray's overhead on the same machine,
not a cluster's reach. Input: benchmarks/augment.py's constructed annotated dataset (every map moves), one
variant per train sample, the active profile's augment params. Every run is a first run (fresh output folder
and cache), as interleaved pairs with medians and spread (benchmarks/lib/timing.py):

- The stage in-process: `executor: local` against `executor: ray` with W actors (connecting, starting the actors
  and shipping every parent's files included, as a stage run pays them).
- Per-shard overhead on Ray, one actor: one shard holding every parent against shards of one parent; the
  difference divided by the extra shards is what packing, scheduling and landing one more shard costs.
Printed with the load average: compare only with figures taken under the same load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.annotate_ray import LocalCluster, cluster_auth  # noqa: E402
from benchmarks.augment import build  # noqa: E402
from benchmarks.lib.timing import REPO, Spread, load_line, paired  # noqa: E402


def main() -> None:
    """Print variants/s for the local stage and Ray at 1 and 2 actors, and the per-shard overhead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--size", default="384x512")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["VTON_QUIET"] = "1"
    os.environ["VTON_PROJECT_ROOT"] = str(REPO)
    tmp = Path(tempfile.mkdtemp(prefix="vab", dir="/tmp"))  # short: Ray's socket paths
    cluster_auth(tmp / "ray")
    from components.data.augment.run import augment_dataset
    from components.params import load_params

    import components.data.augment.executors.ray_executor  # noqa: F401 - imports outside every timing

    base = load_params().augment.model_copy(update={"enabled": True, "variants_per_sample": 1})
    w, h = (int(v) for v in args.size.split("x"))
    cluster = None
    runs = iter(range(10**6))
    try:
        build(tmp, args.samples, w, h)
        data = tmp / "small"
        cluster = LocalCluster(tmp / "ray", cpus=2)
        print(f"{args.samples} train samples at {w}x{h}, one variant each; Ray head {cluster.address} (2 CPUs); "
              f"{load_line()}")

        def run(**update):
            params = type(base).model_validate({**base.model_dump(), **update})  # validated: `ray` as a section

            def go() -> float:
                i = next(runs)
                start = time.perf_counter()
                report = augment_dataset(data, tmp / f"out{i}", params, tmp / f"cache{i}")
                seconds = time.perf_counter() - start
                if report.variants != args.samples or report.failed:
                    raise RuntimeError(f"the stage did not make every variant: {report.summary()}")
                shutil.rmtree(tmp / f"out{i}", ignore_errors=True)
                shutil.rmtree(tmp / f"cache{i}", ignore_errors=True)
                return seconds
            return go

        n = args.samples
        for actors in (1, 2):
            ray_params = {"actors": actors, "num_cpus": 1.0}
            pairs = paired(run(), run(executor="ray", shard_size=max(1, n // (2 * actors)), ray=ray_params),
                           args.repeats)
            print(f"stage in-process: local vs Ray ({actors} actor{'s' if actors > 1 else ''}), {load_line()}")
            print(pairs.text("local", "Ray"))
            print(f"  variants/s: local {n / pairs.a.median:.2f}, Ray {n / pairs.b.median:.2f}")
        one = {"actors": 1, "num_cpus": 1.0}
        pairs = paired(run(executor="ray", shard_size=n, ray=one), run(executor="ray", shard_size=1, ray=one),
                       args.repeats)
        extra = [(b - a) / (n - 1) for a, b in zip(pairs.a.values, pairs.b.values)]
        print(f"per-shard overhead on Ray, 1 actor: 1 shard vs {n} shards of one parent, {load_line()}")
        print(pairs.text("1 shard", f"{n} shards"))
        print(f"  per extra shard: {Spread(extra).text('s')} (pairwise difference / {n - 1})")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
