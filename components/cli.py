"""`vton`: one command per pipeline step (what dvc.yaml runs) plus `vton retrain` for the whole flow.

Each step's CLI lives beside its code (`components/<step>/cli.py`) and registers itself here; heavy
imports (torch, mlflow, mediapipe) happen inside the commands so `vton --help` stays instant.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import sys
from typing import Optional

import typer

from components.errors import VtonError

app = typer.Typer(
    name="vton",
    help="vton-pipeline: acquire, annotate, validate, train, evaluate and promote virtual try-on models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines `register(app)`; the order is the order of `vton --help`.
STEP_CLIS: tuple[str, ...] = (
    "components.data.cli",
    "components.annotate.cli",
    "components.validate.cli",
    "components.stage.cli",
    "components.storage.cli",
    "components.doctor",
    "components.models.cli",
    "components.train.cli",
    "components.evaluate.cli",
    "components.tryon.cli",
    "components.registry.cli",
)

ProfileOption = typer.Option(None, "--profile", "-p", help="smoke | test | full (default: params.yaml's `profile`).")


@app.command()
def retrain(
    profile: Optional[str] = ProfileOption,
    stages: Optional[list[str]] = typer.Option(None, "--stage", "-s", help="Run only these stages (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Re-run stages even when DVC says nothing changed."),
    record: bool = typer.Option(False, "--record",
                                help="Open the Prefect and MLflow runs even when DVC says nothing changed."),
) -> None:
    """Run the end-to-end retraining flow (Prefect) over the DVC stages, then promote."""
    import atexit
    import contextlib
    import signal

    if _ENTRY_POINT:  # the `vton` process itself (never a test runner or another program calling the app)
        atexit.register(_exit_without_teardown)  # first registered, so it runs after every other exit hook

    from components.tracking.service import warm_up
    from flows import head_start, no_op, prefect_server  # import neither Prefect nor MLflow

    # A terminated retrain unwinds (SystemExit) so the flow ends its MLflow run KILLED rather than leaving it RUNNING.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    # An unchanged pipeline after a retrain that finished: DVC's answer alone, no runs opened (flows/no_op.py).
    unchanged = None if force or record else no_op.answer_by_dvc(profile, stages)
    if unchanged is not None:
        typer.echo(unchanged.where_to_look())
        _FINISHED.append(True)
        return

    # A server `prefect server start --background` runs for this PREFECT_HOME is used as it is; else Prefect's
    # temporary server starts first, on another core, while this process imports Prefect and MLflow.
    server = None
    if prefect_server.wanted() and prefect_server.use_running_server() is None:
        server = prefect_server.start()
    # The first stages start now too, in one DVC process, and the flow takes them over (flows/head_start.py).
    head_start.start(profile, stages, force)
    try:
        from flows.retrain import retrain_flow  # the CLI is the one place that reaches into flows/

        # MLflow's import and store open, in this thread while the server starts: imports in two threads at once
        # can hand one of them a half-initialised module (seen: "cannot import name 'flow' from 'prefect'").
        warm_up()
        if server is not None:
            server.wait()
        with server.flow_settings() if server is not None else contextlib.nullcontext():
            summary = retrain_flow(profile=profile, stages=stages, force=force)
    except BaseException as exc:  # the flow never took its head start: stop it, telling its stages why
        head_start.abandon(f"`vton retrain` stopped first: {(str(exc) or type(exc).__name__).splitlines()[0]}")
        raise
    typer.echo(summary.where_to_look())
    _FINISHED.append(True)


_ENTRY_POINT: list[bool] = []  # set by main(): this process is the `vton` command
_FINISHED: list[bool] = []  # set once `vton retrain` has succeeded and said where to look


def _exit_without_teardown() -> None:
    """After a successful retrain and every other exit hook (Prefect's last logs and events, the temporary server's
    stop): exit 0 without the interpreter's teardown of the modules Prefect, MLflow and pandas loaded, which costs
    over a CPU second and only frees memory the OS frees anyway. A failed or stopped retrain exits as usual."""
    if _FINISHED:
        from components.processes import exit_without_teardown

        exit_without_teardown(0)


@app.command()
def schedule(
    profile: Optional[str] = ProfileOption,
    cron: Optional[str] = typer.Option(None, "--cron", help="Cron expression (default: params.schedule.cron, weekly)."),
    work_pool: Optional[str] = typer.Option(None, "--work-pool", help="Prefect work pool (default: params.schedule)."),
    stages: Optional[list[str]] = typer.Option(None, "--stage", "-s", help="Run only these stages (repeatable)."),
    paused: bool = typer.Option(False, "--paused", help="Create the deployment with its schedule paused."),
    run_now: bool = typer.Option(False, "--run-now", help="Also schedule one run due now."),
) -> None:
    """Deploy the retrain flow to Prefect (PREFECT_API_URL) with a cron schedule and concurrency one."""
    from components.params import load_params
    from components.project import project_root
    from flows.schedule import deploy_retrain, schedule_run_now  # the CLI is the one place that reaches into flows/

    root = project_root()
    created = deploy_retrain(load_params(profile=profile), root, cron, work_pool, stages, paused)
    typer.echo(created.describe())
    if run_now:
        typer.echo(f"scheduled run {schedule_run_now(created.deployment_id)} (due now)")


def _register_steps() -> None:
    for module in STEP_CLIS:
        importlib.import_module(module).register(app)


_register_steps()


def main() -> None:
    """Console entry point: user-fixable errors print as one clear message, not a traceback."""
    # Prefect's temporary server can take more than its default 20 s to start on a busy small machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    _ENTRY_POINT.append(True)
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the one place that turns failures into messages
        error = user_error(exc)
        if error is None or os.environ.get("VTON_DEBUG") == "1":
            raise
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        sys.exit(error.exit_code)
    finally:
        # The command is done: what is alive now (Great Expectations', MLflow's, torch's object graphs) lives
        # until the process ends, and letting the cyclic collector walk it at shutdown costs about a CPU second.
        # atexit handlers still run; objects they create are collected as usual.
        gc.freeze()


def user_error(exc: BaseException) -> VtonError | None:
    """`exc` as an error the user can act on (message + fix), or None for a bug (which keeps its traceback)."""
    if isinstance(exc, VtonError):
        return exc
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return VtonError(f"{exc.filename or 'disk'}: no space left on the device", hint="free disk space and re-run")
    if isinstance(exc, (PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError)) and exc.filename:
        # The file system refused a path the user controls (an unwritable or misplaced reports/, models/, ...).
        return VtonError(f"{exc.filename}: {exc.strerror or type(exc).__name__}",
                         hint="make that folder writable (and a folder) for this user, or point paths.* in "
                         "params.yaml elsewhere")
    if type(exc).__module__.startswith("mlflow") and hasattr(exc, "error_code"):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return VtonError(f"MLflow: {first}", hint="check the run id / version / model name, and MLFLOW_TRACKING_URI")
    return None


if __name__ == "__main__":
    main()
