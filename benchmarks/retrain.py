"""What orchestration costs: `vton retrain` against `dvc repro` on the same pipeline, as interleaved pairs.

Two figures, each from N interleaved pairs in a fresh copy of this project (git + DVC, the bundled sample):

- no-op: everything up to date. `vton retrain` (answered by DVC alone: flows/no_op.py) against `dvc repro` of the
  same stages; target: the retrain at most 2x. Then `vton retrain --record` (Prefect flow, MLflow run, one task
  per stage, promotion check, as a scheduled run always does) against the same `dvc repro`, for comparison.
- forced: every stage re-run. `vton retrain --force` against `dvc repro --force`; orchestration's share is
  (retrain - repro) / retrain; target: at most 10%.

Both commands are run as a user runs them (a new process each time, PREFECT_HOME and the MLflow store in the
copy). Medians and the spread (min..max) are printed, wall and CPU seconds (user + system of the command and
every process it waited for: on a shared machine wall time moves with the load, CPU time far less), with the
load average; pairs alternate which command goes first. By default the retrain starts Prefect's temporary
server itself (the local default); `--background-server` runs `prefect server start --background` in the copy's
PREFECT_HOME, which `vton retrain` finds by itself (its server.pid) and uses; `--server` starts one `prefect server`
for the whole benchmark and points PREFECT_API_URL at it (a team setup). A server the retrain did not start is not
in its CPU seconds. `--code DIR` measures another checkout (e.g. main, for a before/after figure); `--workspace DIR`
keeps the copy there, and reuses one already there (the measured code copied over it), so a second measurement
does not build the pipeline from scratch.

    python benchmarks/retrain.py [--pairs 3] [--stages scrape import annotate augment validate train evaluate]
                                 [--skip-forced] [--server | --background-server] [--code DIR] [--workspace DIR]

Last measured on idle cores (2026-12-02, the 2-core machine at load 0.8-1.4, full smoke list scrape..evaluate,
temporary server, 5 pairs; the machine ran about a third slower than earlier that day: a no-op `dvc repro` took
2.6 s, not 1.9):
    no-op             3.2s vs 2.6s (1.25x) | CPU 3.3s vs 2.7s (1.24x)
    no-op --record    7.8s vs 2.5s (3.08x) | CPU 12.8s vs 2.6s (4.87x)
    forced           48.0s vs 47.2s, orchestration share 2% (-1%..5%; 2% of the median seconds) | CPU 68.4s vs
                     59.8s (13%)
  Earlier that day, before the flow run on the temporary server stopped sending heartbeats (Prefect joined
  the heartbeat thread, which sleeps in whole seconds, for up to a second at each flow's end): forced 45.0s vs
  40.8s, 10% (5%..11%); no-op --record 6.2s vs 1.9s (3.25x).
  The forced retrain now runs its local stages in one `dvc repro` process (no DVC start per stage: about
  0.45 s each) and starts it before it imports Prefect and MLflow (flows/head_start.py): the first stages run
  while Prefect's temporary server starts, and the stages find the MLflow run's id in a file once the flow has
  opened it. The data diff runs beside train and evaluate. What is left is CPU more than wall time: the server
  (3.3 CPU s), the Prefect and MLflow imports (3.5 s) and the stages' lines and pictures sent to Prefect share
  the 2 cores with the first stages (13-17% more CPU seconds than `dvc repro`). Before this (2026-12-01, same
  machine, one DVC process per stage started after Prefect was up): forced 50.6s vs 42.3s, share 16%
  (16%..17%); 3 pairs the next day, with the chain process but not yet the early data diff: 51.7s vs 46.3s, 6%
  (3%..14%).
  The no-op opens no runs (the last retrain finished and nothing wrote to the store since), so it pays one
  `dvc status`, scrape's `dvc repro` and the CLI's start (0.15 s) and nothing of Prefect or MLflow.
Measured before that (2026-12-01, the 2-core shared machine at load 20-30: wall seconds there are mostly the other
tenants' doing, so the CPU figures are the ones to compare; before = main 77e245a, same load, run beside):
  full smoke list (scrape..evaluate), no-op, wall (ratio) | CPU (ratio):
    temporary server   before 140.2s vs 36.8s (3.81x) | 15.2s vs 2.7s (5.6x)
                       after  114.9s vs 42.5s (2.70x) | 14.1s vs 2.9s (4.9x)
    background server  after   76.9s vs 39.4s (1.95x) |  7.3s vs 2.8s (2.6x)
  full smoke list, background server, forced: 562.6s vs 425.4s, share -3% (-45%..39%, load 9-26) | CPU 147.6s
    vs 153.9s (121..174 vs 148..160: the orchestration's ~7 CPU s are inside the spread of train and evaluate)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.lib.timing import paired  # noqa: E402

COPY = ("params.yaml", "dvc.yaml", "dvc.lock", "data.dvc", ".dvc/config", ".dvcignore", "components", "flows",
        "mlflow")


def workspace(tmp: Path, stages: list[str], code: Path = REPO) -> Path:
    """A git + DVC copy of the project (`code`: this checkout, or another one to compare with) with the bundled
    sample in data/raw and `flow.stages` set to `stages`."""
    import yaml

    from tests.project_copy import copy_project

    ws = copy_project(tmp / "ws", COPY, source=code)
    (ws / ".gitignore").write_text((REPO / ".gitignore").read_text())
    (ws / "data").mkdir(exist_ok=True)
    (ws / "data" / ".gitignore").write_text((REPO / "data" / ".gitignore").read_text())
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["flow"]["stages"] = stages
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # The sample as the measured checkout's own code makes it (data.dvc records that sample's md5).
    make_sample = ("import sys; from pathlib import Path; from components.data.sample_data import "
                   "materialise_sample_data; materialise_sample_data(Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", make_sample, str(ws / "data" / "raw")], cwd=ws,
                   env={**os.environ, "PYTHONPATH": str(ws)}, check=True)
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
        subprocess.run(cmd, cwd=ws, check=True, capture_output=True)
    return ws


def kept_workspace(where: Path, stages: list[str], code: Path) -> Path:
    """`workspace` made at `where` (kept), or the one already there with `code`'s code and `stages` put in it."""
    import shutil

    import yaml

    ws = where.resolve() / "ws"
    if not ws.is_dir():
        where.mkdir(parents=True, exist_ok=True)
        made = workspace(where.resolve(), stages, code)
        assert made == ws
        return ws
    for name in ("components", "flows", "mlflow"):
        shutil.copytree(code / name, ws / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["flow"]["stages"] = stages
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return ws


# Command line -> CPU seconds (user + system, the command and every process it waited for) of each run: on a
# shared machine the wall time moves with the load, the CPU time much less.
CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], ws: Path, env: dict[str, str]) -> float:
    """Wall seconds of `cmd` in `ws` (its CPU seconds go to CPU); its output is kept in ws/bench.log, and a
    failure stops the benchmark."""
    cpu = _children_cpu()
    start = time.perf_counter()
    with (ws / "bench.log").open("a") as log:
        log.write(f"\n$ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.run(cmd, cwd=ws, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    CPU.setdefault(" ".join(cmd), []).append(_children_cpu() - cpu)
    if proc.returncode != 0:  # the workspace is a temp folder: say why here
        tail = "\n".join((ws / "bench.log").read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); the end of its output:\n{tail}")
    return seconds


def pairs(retrain: list[str], repro: list[str], n: int, ws: Path, env: dict[str, str]) -> tuple[list, list]:
    """`n` interleaved (retrain, repro) timings, alternating which goes first (benchmarks/lib/timing.py)."""
    both = paired(lambda: timed(retrain, ws, env), lambda: timed(repro, ws, env), n)
    return both.a.values, both.b.values


def start_prefect_server(ws: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`prefect server start` on a free loopback port, once healthy; (process, API URL)."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (ws / "prefect-server.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2):
                return proc, api
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"prefect server did not start; see {ws / 'prefect-server.log'}")


def start_background_server(ws: Path, env: dict[str, str]) -> None:
    """`prefect server start --background` on a free loopback port (PREFECT_SERVER_API_PORT), once healthy."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        env["PREFECT_SERVER_API_PORT"] = str(sock.getsockname()[1])
    subprocess.run([str(Path(sys.executable).parent / "prefect"), "server", "start", "--background"], env=env,
                   check=True, capture_output=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{env['PREFECT_SERVER_API_PORT']}/api/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("prefect server start --background did not answer within 300 s")


def spread(values: list[float]) -> str:
    """Median and range of `values` in seconds."""
    return f"{statistics.median(values):6.1f}s (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"


def main() -> None:
    """Run the pairs and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--stages", nargs="+",
                        default=["scrape", "import", "annotate", "augment", "validate", "train", "evaluate"])
    parser.add_argument("--server", action="store_true", help="One Prefect server for all runs (PREFECT_API_URL).")
    parser.add_argument("--background-server", action="store_true",
                        help="One `prefect server start --background` in the copy's PREFECT_HOME, no PREFECT_API_URL: "
                        "what `vton retrain` finds and reuses by itself.")
    parser.add_argument("--skip-forced", action="store_true",
                        help="Only the no-op pairs (the forced ones take minutes).")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="Keep the copy in DIR (made there if missing); an existing one gets the measured code "
                        "(components, flows, mlflow) copied over it and skips building the pipeline from scratch, "
                        "so another checkout whose stage code is the same starts from a no-op.")
    parser.add_argument("--code", type=Path, default=REPO,
                        help="The checkout whose code and pipeline are measured (default: this one), e.g. another "
                        "worktree for a before/after figure.")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="vton-bench-retrain-") as tmp:
        ws = kept_workspace(args.workspace, args.stages, args.code.resolve()) if args.workspace else \
            workspace(Path(tmp), args.stages, args.code.resolve())
        env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
               "PREFECT_HOME": str(ws / ".prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "MLFLOW_TRACKING_URI": f"sqlite:///{ws / 'mlflow.db'}", "VTON_PROJECT_ROOT": str(ws),
               "DVC_NO_ANALYTICS": "1", "VTON_QUIET": "1", "VTON_STAGE_ECHO": "0",
               "PYTHONPATH": str(ws)}  # the copy's code, the same the stages' deps point at
        env.pop("VTON_MLFLOW_RUN_ID", None)
        server = None
        if args.server:
            server, env["PREFECT_API_URL"] = start_prefect_server(ws, env)
        elif args.background_server:
            start_background_server(ws, env)
        try:
            measure(args, ws, env, bindir)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            if args.background_server:
                subprocess.run([str(bindir / "prefect"), "server", "stop"], env=env, capture_output=True, timeout=120)


def load() -> str:
    """The machine's 1/5/15-minute load averages (figures from a busy machine are not comparable to a quiet one)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def prefect_mode(args: argparse.Namespace, env: dict[str, str]) -> str:
    """Which Prefect server the retrains talk to, in words."""
    if env.get("PREFECT_API_URL"):
        return env["PREFECT_API_URL"]
    if args.background_server:
        return f"`prefect server start --background` on port {env['PREFECT_SERVER_API_PORT']} (found by vton)"
    return "temporary server per retrain"


def measure(args: argparse.Namespace, ws: Path, env: dict[str, str], bindir: Path) -> None:
    """The first run, then the no-op pairs and (unless skipped) the forced pairs."""
    retrain = [str(bindir / "vton"), "retrain", "--profile", "smoke"]
    repro = [sys.executable, "-m", "dvc", "repro", *args.stages]
    print(f"workspace {ws}; stages {' '.join(args.stages)}; {args.pairs} interleaved pairs each; "
          f"Prefect: {prefect_mode(args, env)}; {load()}")
    first = timed(retrain, ws, env)
    print(f"first retrain (brings the copy up to date: everything runs in a new copy): {first:.1f}s")
    CPU.clear()

    for label, command in (("no-op", retrain), ("no-op --record", [*retrain, "--record"])):
        CPU.pop(" ".join(repro), None)
        noop_retrain, noop_repro = pairs(command, repro, args.pairs, ws, env)
        ratio = statistics.median(noop_retrain) / statistics.median(noop_repro)
        target = "target <= 2x" if command is retrain else "opens the Prefect and MLflow runs anyway; no target"
        print(f"{label:<15} vton retrain {spread(noop_retrain)}; CPU {spread(CPU[' '.join(command)])}")
        print(f"{label:<15} dvc repro    {spread(noop_repro)}; CPU {spread(CPU[' '.join(repro)])}")
        print(f"{label:<15} ratio retrain / repro: {ratio:.2f}x ({target}); {load()}")
        print(f"{label:<15} ratio of CPU seconds (medians): "
              f"{statistics.median(CPU[' '.join(command)]) / statistics.median(CPU[' '.join(repro)]):.2f}x")
    if not args.skip_forced:
        forced_retrain, forced_repro = pairs([*retrain, "--force"], [*repro, "--force"], args.pairs, ws, env)
        share = [(a - b) / a for a, b in zip(forced_retrain, forced_repro)]
        print(f"forced vton retrain {spread(forced_retrain)}; CPU {spread(CPU[' '.join([*retrain, '--force'])])}")
        print(f"forced dvc repro    {spread(forced_repro)}; CPU {spread(CPU[' '.join([*repro, '--force'])])}")
        print(f"forced orchestration share: median {statistics.median(share):.0%} "
              f"(min {min(share):.0%}, max {max(share):.0%}; target <= 10%); {load()}")
        by_medians = 1 - statistics.median(forced_repro) / statistics.median(forced_retrain)
        print(f"forced orchestration share of the median seconds: {by_medians:.0%}; per pair: "
              + ", ".join(f"{x:.0%}" for x in share))
        cpu_a = statistics.median(CPU[" ".join([*retrain, "--force"])])
        cpu_b = statistics.median(CPU[" ".join([*repro, "--force"])])
        print(f"forced orchestration share of CPU seconds (medians; a server not started by the retrain is not "
              f"counted): {(cpu_a - cpu_b) / cpu_a:.0%}")


if __name__ == "__main__":
    main()
