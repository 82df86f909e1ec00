"""Annotate on Ray vs the local process pool: images/s at 1 and 2 workers, and what one shard costs on Ray.

    python benchmarks/annotate_ray.py [--copies 3] [--size 384 512] [--repeats 3]

Starts its own Ray cluster on 127.0.0.1 (`ray start --head --num-cpus 2`, token authentication, stopped at
the end), so the figures are for Ray on the same machine as the local pool: they show Ray's overhead, not a
cluster's reach (more machines add actors; one machine cannot). Input: distinct copies of the sample people
as a plain photo folder (benchmarks/annotate.py's inputs). Each run is a first run on a fresh output folder
and cache. Figures are medians over interleaved pairs with their spread (benchmarks/lib/timing.py):

- The stage in-process at W workers: `workers: W` (local pool) against `executor: ray` with W actors. A Ray run
  includes connecting, starting the actors and their model builds, as a stage run does.
- The whole `vton annotate --input ... --executor ray` command (RAY_ADDRESS set) against `--workers 2`.
- Per-shard overhead on Ray: one actor, shard_size 1 against one shard holding every image; the difference
  divided by the extra shards is what shipping, scheduling and landing one more shard costs. Measured with one
  shard queued per actor (nothing hides the round trip) and as the stage runs (two queued: the next shard
  travels while one runs, and landing overlaps the next shard, so more shards can even be faster).
Printed with the load average: figures from a shared machine compare only with figures taken under the same load.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.annotate import make_inputs  # noqa: E402
from benchmarks.lib.timing import REPO, Spread, command_seconds, load_line, paired  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_auth(temp: Path) -> dict[str, str]:
    """Token authentication with a token of this run, set in this process before Ray is imported (Ray reads
    RAY_AUTH_MODE once) and handed to the cluster and the commands."""
    temp.mkdir(parents=True, exist_ok=True)
    token = temp / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    os.environ.update(env)
    return env


class LocalCluster:
    """`ray start --head --block` in its own session on loopback; stopped by pid (only its own processes)."""

    def __init__(self, temp: Path, cpus: int) -> None:
        self.temp = temp
        self.env = cluster_auth(temp)
        port = _free_port()
        self.address = f"127.0.0.1:{port}"
        ray_cli = Path(sys.executable).parent / "ray"
        self.head = subprocess.Popen(
            [str(ray_cli), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus",
             str(cpus), "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(temp), "--block"],
            env={**os.environ, **self.env, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait(port)
        except BaseException:
            self.stop()
            raise

    def _wait(self, port: int) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark's Ray head did not start") from None
                time.sleep(0.5)
        os.environ["RAY_ADDRESS"] = self.address
        import ray

        ray.init(address=self.address, log_to_driver=False)  # waits until the head's raylet is registered
        ray.shutdown()

    def stop(self) -> None:
        """SIGTERM the `ray start` group, then SIGKILL what is left of its session."""
        import psutil

        try:
            os.killpg(self.head.pid, signal.SIGTERM)
            self.head.wait(timeout=3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        for p in psutil.process_iter(["pid"]):
            try:
                if os.getsid(p.info["pid"]) == self.head.pid:
                    os.kill(p.info["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.head.wait(timeout=10)


def stage_seconds(folder: Path, out: Path, cache: Path, size: tuple[int, int], **settings) -> float:
    """Wall seconds of the annotate stage on `folder` (in-process), on a fresh output folder and cache."""
    from components.annotate.params import AnnotateParams
    from components.annotate.run import annotate_folder

    params = AnnotateParams(width=size[0], height=size[1], **settings)
    start = time.perf_counter()
    result = annotate_folder(folder, out, params, cache, ["upper_body"])
    seconds = time.perf_counter() - start
    if result.report.done != result.report.total:
        raise RuntimeError(f"the stage did not annotate every image: {result.report.summary()}")
    return seconds


def main() -> None:
    """Print images/s for the local pool and Ray at 1 and 2 workers, and the per-shard overhead."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=3, help="copies of each sample person")
    parser.add_argument("--size", type=int, nargs=2, default=[384, 512], metavar=("W", "H"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shard-size", type=int, default=4)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vrb", dir="/tmp"))  # short: Ray's socket paths
    cluster_auth(tmp / "ray")
    import components.annotate.engine  # noqa: F401 - imports outside every timing
    import components.annotate.executors.ray_executor  # noqa: F401
    import components.annotate.run  # noqa: F401

    cluster = None
    runs = iter(range(10**6))
    try:
        photos = tmp / "photos"
        n = len(make_inputs(photos, args.copies))
        size = tuple(args.size)
        cluster = LocalCluster(tmp / "ray", cpus=2)
        print(f"{n} images at {size[0]}x{size[1]}, shard_size {args.shard_size}; Ray head {cluster.address} "
              f"(2 CPUs); {load_line()}")

        def run(**settings):
            settings.setdefault("shard_size", args.shard_size)

            def go() -> float:
                i = next(runs)
                return stage_seconds(photos, tmp / f"out{i}", tmp / f"cache{i}", size, **settings)
            return go

        for w in (1, 2):
            pairs = paired(run(workers=w), run(executor="ray", ray={"actors": w, "num_cpus": 1}), args.repeats)
            print(f"stage in-process, {w} worker{'s' if w > 1 else ''}: local pool vs Ray ({w} actor"
                  f"{'s' if w > 1 else ''}), {load_line()}")
            print(pairs.text("local pool", "Ray"))
            print(f"  images/s: local pool {n / pairs.a.median:.2f}, Ray {n / pairs.b.median:.2f}")

        from components.executors import ray_pool as ray_executor  # SHARDS_PER_ACTOR lives there

        def one_queued(fn):
            """`fn` with one shard queued per actor: nothing overlaps a shard's round trip, so it shows in full."""
            def go() -> float:
                saved, ray_executor.SHARDS_PER_ACTOR = ray_executor.SHARDS_PER_ACTOR, 1
                try:
                    return fn()
                finally:
                    ray_executor.SHARDS_PER_ACTOR = saved
            return go

        one_shard = run(executor="ray", ray={"actors": 1}, shard_size=n)
        per_image = run(executor="ray", ray={"actors": 1}, shard_size=1)
        for label, wrap in (("one shard queued per actor", one_queued),
                            (f"{ray_executor.SHARDS_PER_ACTOR} queued per actor (as the stage runs)", lambda f: f)):
            pairs = paired(wrap(one_shard), wrap(per_image), args.repeats)
            extra = [(b - a) / (n - 1) for a, b in zip(pairs.a.values, pairs.b.values)]
            print(f"per-shard overhead on Ray, 1 actor, {label}: 1 shard vs {n} shards of one image, {load_line()}")
            print(pairs.text("1 shard", f"{n} shards"))
            print(f"  per extra shard: {Spread(extra).text('s')} (pairwise difference / {n - 1})")

        project = tmp / "project"
        project.mkdir()
        import yaml

        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["annotate"].update(width=size[0], height=size[1], shard_size=args.shard_size,
                                  cache_dir=str(tmp / "cmd-cache"), ray={"actors": 2, "num_cpus": 1.0,
                                                                         "num_gpus": 0.0, "max_retries": 3})
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

        def command(*flags: str):
            def go() -> float:
                shutil.rmtree(tmp / "cmd-cache", ignore_errors=True)  # a first run: nothing cached
                return command_seconds(["vton", "annotate", "--input", str(photos), "--out",
                                        str(tmp / f"cmd-out{next(runs)}"), *flags], project,
                                       {"VTON_PROJECT_ROOT": str(project), **cluster.env,
                                        "RAY_ADDRESS": cluster.address})
            return go

        pairs = paired(command("--workers", "2"), command("--executor", "ray"), args.repeats)
        print(f"whole command `vton annotate`: --workers 2 vs --executor ray (2 actors), {load_line()}")
        print(pairs.text("--workers 2", "--executor ray"))
        print(f"  images/s: local pool {n / pairs.a.median:.2f}, Ray {n / pairs.b.median:.2f}")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
