"""The retrain flow: the DVC stages in order, one Prefect task each, inside one MLflow run, then promotion.

DVC decides what runs (unchanged stages are skipped and dvc.lock records lineage); Prefect adds retries,
the run history, UI artifacts and the schedule; MLflow holds the figures of every stage in one run. Each task
waits for its upstream task, so the Prefect graph shows the stage chain. Consecutive local stages run in one
`dvc repro` process (components/stage/chain.py), whose first one `vton retrain` may have started before the
flow (flows/head_start.py); each task takes its stage's outcome and output from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.exceptions import TerminationSignal
from prefect.runtime import flow_run

from components.params import load_params

from components.config.loader import set_active_profile
from components.errors import ConfigError, VtonError
from components.project import project_root, raw_data_present
from components.config.paths import PathsParams
from components.registry.params import PromoteParams
from components.stage.chain import NotReached, StageChain
from components.stage.dvc import Dvc, DvcFailed, StageStatus
from components.tracking.contract import Tag
from components.tracking.mlflow_run import RUN_ID_ENV, hand_over_run_id
from components.tracking.service import TrackingService, shared_service
from flows.artifacts import publish_stage_pictures
from flows import head_start
from flows.dvc_stage import StageFailed, StageResult, is_transient_failure
from flows.logs import quiet_user_error_tracebacks, stage_output_logger
from flows.prefect_runs import crash_flow_run
from flows.remote_stage import remote_stage, uses_remote
from flows.retrain_record import LOGS_DIR, write_record

# How a retrain is stopped from outside: Ctrl-C, SIGTERM while a flow runs (Prefect raises TerminationSignal),
# SIGTERM outside one (`vton retrain` exits 128 + 15). The run ends KILLED, never FAILED or FINISHED.
STOPPED = (KeyboardInterrupt, SystemExit, TerminationSignal)


@dataclass
class RetrainSummary:
    """What one retrain did and where its results are."""

    profile: str
    mlflow_run_id: str
    mlflow_experiment_id: str
    tracking_uri: str
    prefect_flow_run_id: str | None
    root: Path
    stages: list[StageResult] = field(default_factory=list)
    promotion: str = "not run"
    no_op: bool = False
    data_diff: str = "not computed"
    status: str = "RUNNING"
    logs_dir: Path | None = None

    def stage_line(self) -> str:
        """`stage=status, ...` as the run's `vton.stages` tag and the summary's first line show it."""
        return ", ".join(f"{s.stage}={StageStatus(s.status).value}" for s in self.stages) or "none"

    def where_to_look(self) -> str:
        """A short, copy-pasteable guide to the results."""
        verb = "finished" if self.status == "FINISHED" else "failed"
        lines = [
            f"retrain ({self.profile}) {verb}: {self.stage_line()}",
            *(["  no-op:          no new data and no code change: DVC skipped every stage, nothing registered"]
              if self.no_op else []),
            f"  promotion:      {self.promotion}",
            f"  data vs champion: {self.data_diff.splitlines()[0] if self.data_diff else ''}",
            f"  MLflow run:     {self.mlflow_run_id} (experiment {self.mlflow_experiment_id})",
        ]
        if self.tracking_uri.startswith("sqlite:"):
            lines.append(f"  MLflow UI:      mlflow ui --backend-store-uri {self.tracking_uri} --port 5000")
            lines.append(
                f"                  then http://127.0.0.1:5000/#/experiments/{self.mlflow_experiment_id}"
                f"/runs/{self.mlflow_run_id}"
            )
        else:
            lines.append(f"  MLflow server:  {self.tracking_uri}")
        if self.prefect_flow_run_id:
            home = os.environ.get("PREFECT_HOME", "~/.prefect")
            lines.append(f"  Prefect run:    {self.prefect_flow_run_id}")
            ui = _live_ui_url()
            if ui:
                lines.append(f"  Prefect UI:     {ui}/runs/flow-run/{self.prefect_flow_run_id}")
            else:  # a temporary server, gone now: one command brings the UI up, and later retrains reuse it
                lines.append(f"  Prefect UI:     PREFECT_HOME={home} prefect server start --background   (then "
                             "http://127.0.0.1:4200; later retrains use it; `prefect server stop` ends it)")
        reports = self.root / "reports"
        for label, path in (
            ("data quality", reports / "validate" / "report.html"),
            ("evaluation", reports / "evaluate" / "report.md"),
            ("review grid", reports / "evaluate" / "images"),
            ("annotations", reports / "annotate"),
            ("stage logs", self.logs_dir),
            ("dataset", self.root / "data" / "augmented"),
        ):
            if path is not None and path.exists():
                lines.append(f"  {label + ':':<15} {path}")
        return "\n".join(lines)


def _live_ui_url() -> str | None:
    """The UI of the Prefect server this retrain talked to, when it outlives the retrain; None for a temporary one."""
    if os.environ.get("PREFECT_UI_URL") == "":  # flows/prefect_server.py: a temporary server, no UI
        return None
    from prefect.settings import get_current_settings

    return get_current_settings().ui_url


def tracking_for(root: Path) -> TrackingService:
    """The flow's tracking service for `root` (the URI the environment names, else the project's SQLite)."""
    return shared_service(root)


@task(name="prepare-data")
def prepare_raw_data(root: Path, refresh: bool = False) -> str:
    """Make sure data/raw holds the data data.dvc names: pull it from the DVC remote, else materialise the sample.

    `refresh` (scheduled runs) pulls even when data/raw exists, so a data.dvc updated in git brings its data.
    """
    logger = get_run_logger()
    raw = root / "data" / "raw"
    if raw_data_present(root) and not refresh:
        return "present"
    dvc = Dvc(root)
    try:
        dvc.pull("data.dvc", what="pulling data/raw")
    except DvcFailed as exc:
        logger.info("no data/raw on the DVC remote (%s)", exc.reason.splitlines()[0])
    if raw_data_present(root):
        logger.info("pulled data/raw from the DVC remote")
        return "pulled"
    from components.data.sample_data import materialise_sample_data

    materialise_sample_data(raw)
    # Put the files in the DVC cache; data.dvc's md5 must not move (the sample is deterministic).
    dvc.commit("data.dvc")
    logger.info("materialised the bundled sample data into %s", raw)
    return "sample"


@task(name="start-tracking")
def start_tracking_run(root: Path, profile: str, experiment: str, params_used: object,
                       flow_run_id: str | None) -> tuple[str, str]:
    """End runs killed retrains left RUNNING, then open this retrain's run; return (run id, experiment id)."""
    service = tracking_for(root)
    exp_id = service.experiment(experiment)
    logger = get_run_logger()
    for orphan in service.end_orphans(exp_id):
        logger.warning("retrain run %s was left RUNNING by process %s (killed): marked KILLED",
                       orphan.run_id, orphan.pid)
        if orphan.prefect_flow_run_id and orphan.prefect_flow_run_id != flow_run_id:
            crash_flow_run(orphan.prefect_flow_run_id, f"process {orphan.pid} ended without finishing the run")
    previous = service.previous_retrain(exp_id)
    if previous is not None and previous.status != "FINISHED":
        logger.warning("%s", previous.report())
    return service.start_retrain(exp_id, profile, params_used, flow_run_id), exp_id


# The stage that writes paths.augmented, the data the retrain trains on: the diff against the champion's data
# starts as soon as it is done, beside train and evaluate, instead of after them.
DATA_STAGE = "augment"

# stage -> the DVC process that runs it in this retrain: one `dvc repro` for consecutive local stages (each
# process start costs about 0.45 s), the first one possibly started by `vton retrain` itself (flows/head_start.py).
_CHAINS: dict[str, StageChain] = {}


def _chain_for(stage: str, then: list[str], root: Path, run_id: str, force: bool, reports: Path,
               uri: str) -> StageChain:
    """The process that runs `stage` in this retrain: the one already started for it, else a new one for `stage`
    and `then` (a retry, or a stage the previous process never reached, starts afresh)."""
    chain = _CHAINS.get(stage)
    if chain is not None and chain.can_take(stage):
        return chain
    stages = [stage, *then]
    chain = Dvc(root, env={RUN_ID_ENV: run_id, "MLFLOW_TRACKING_URI": uri}).start_chain(
        stages, force=force, logs=head_start.stage_logs(reports / LOGS_DIR, stages))
    _CHAINS.update(dict.fromkeys(stages, chain))
    return chain


def _stop_chains() -> list[str]:
    """Stop every stage process of this retrain still running (the flow is ending early), and forget them; the
    stages they were running that no task was waiting for (stopped before their task began)."""
    interrupted = [chain.stop() for chain in {id(c): c for c in _CHAINS.values()}.values()]
    _CHAINS.clear()
    return [stage for stage in interrupted if stage]


@task(name="dvc-stage", task_run_name="{stage}", retry_condition_fn=is_transient_failure)
def dvc_stage(stage: str, root: Path, run_id: str, force: bool, reports: Path,
              then: list[str] | None = None) -> StageResult:
    """One DVC stage, its output streamed live; the stage attaches to the retrain's MLflow run through the env.

    `then`: the stages after it that the same `dvc repro` process runs when this task has to start one."""
    service = tracking_for(root)
    log_path = reports / LOGS_DIR / f"{stage}.log"
    try:
        try:
            done = _chain_for(stage, then or [], root, run_id, force, reports, service.uri).result(
                stage, on_line=stage_output_logger())
        except NotReached:  # the process ended before this stage: one of its own
            done = _chain_for(stage, then or [], root, run_id, force, reports, service.uri).result(
                stage, on_line=stage_output_logger())
    except DvcFailed:
        service.set_stage_status(run_id, stage, StageStatus.FAILED.value)
        raise
    except STOPPED:  # the stage's processes are stopped; the retrain ends KILLED
        service.set_stage_status(run_id, stage, StageStatus.KILLED.value)
        raise
    service.set_stage_status(run_id, stage, done.status.value)
    get_run_logger().info("stage %s: %s in %.1fs (log: %s)", stage, done.status.value, done.seconds, log_path)
    if done.status is not StageStatus.SKIPPED:
        publish_stage_pictures(stage, reports, run_id)
    return StageResult(stage, done.status, done.seconds, done.last_line, log_path)


@task(name="promote")
def promote_candidate(root: Path, run_id: str, registered_model: str, settings: PromoteParams,
                      stages: list[StageResult], paths: PathsParams | None = None) -> str:
    """Hand the evaluated candidate to the registry's gates, in this process; the decision's one-line message."""
    from components.registry.promotion import promote_run

    # Only an evaluate that ran in this retrain logged its figures to this run (skipped/restored did not).
    if not any(s.stage == "evaluate" and s.status is StageStatus.RAN for s in stages):
        return "not run: evaluate did not run in this retrain (no new figures to gate)"
    service = tracking_for(root)
    try:
        decision = promote_run(service.client, registered_model, run_id, settings, root, paths=paths)
    except ConfigError as exc:  # nothing to promote (e.g. the registry was reset): say so, the stages succeeded
        get_run_logger().warning("promotion: %s", exc)
        return f"not promoted: {exc}"
    for check in decision.checks:
        get_run_logger().info("%s", check)
    service.client.set_tag(run_id, Tag.PROMOTION, decision.outcome)
    return decision.message


@task(name="data-diff")
def log_champion_data_diff(root: Path, run_id: str, registered_model: str, manifest: str) -> str:
    """Diff this retrain's data against the current champion's, on the MLflow run and as a Prefect artifact."""
    from components.tracking.mlflow_run import attached_run
    from components.validate.diff import champion_data_diff, log_diff, render_markdown

    tracking_for(root).client  # noqa: B018 - points the fluent API at the store
    try:
        diff = champion_data_diff(registered_model, manifest, root)
    except Exception as exc:  # noqa: BLE001 - the diff informs a reviewer; it must never fail a retrain
        get_run_logger().warning("could not diff against the champion's data: %s", exc)
        return f"unavailable: {exc}"[:300]
    if diff is None:
        return "no champion yet"
    with attached_run(run_id):  # the flow ends its run, not this task
        log_diff(diff)
    create_markdown_artifact(key="data-diff", markdown=render_markdown(diff),
                             description="This retrain's data against the champion's")
    return diff.summary()


def _publish_summary(summary: RetrainSummary) -> None:
    rows = [
        {"stage": s.stage, "status": StageStatus(s.status).value, "seconds": round(s.seconds, 1),
         "detail": s.message[:200], "log": str(s.log_path or "")}
        for s in summary.stages
    ]
    create_table_artifact(key="retrain-stages", table=rows, description=f"Stages of the {summary.profile} retrain")
    create_markdown_artifact(
        key="retrain-summary", markdown="```\n" + summary.where_to_look() + "\n```", description="Where to look"
    )


def always_changed_stages(root: Path) -> set[str]:
    """Stages dvc.yaml marks always_changed (e.g. scrape re-checks its sites every run)."""
    return Dvc(root).always_changed()


def is_no_op(stages: list[StageResult], root: Path) -> bool:
    """True when DVC skipped every stage (stages that always run, like scrape, count only if later ones ran)."""
    volatile = always_changed_stages(root)
    if any(s.status is StageStatus.FAILED for s in stages):
        return False
    return bool(stages) and all(s.status is StageStatus.SKIPPED or s.stage in volatile for s in stages)


def check_stages(stages: list[str], root: Path) -> list[str]:
    """`stages` if every one is a dvc.yaml stage, else a ConfigError naming the unknown ones."""
    known = Dvc(root).stage_names()
    unknown = [s for s in stages if s not in known]
    if unknown:
        raise ConfigError(f"unknown stages {unknown}: dvc.yaml has {known}",
                          hint="fix flow.stages in params.yaml (or --stage)")
    return list(stages)


def candidate_unregistered(root: Path, params) -> bool:  # noqa: ANN001 - Params
    """True when models/candidate names a registered version the registry does not have (it was reset)."""
    import json

    from components.registry.promotion import version_exists

    record = root / params.paths.models / "candidate" / "registered.json"
    if not record.is_file():
        return False
    data = json.loads(record.read_text())
    if data.get("version") is None:
        return False
    name = data.get("name") or params.project.registered_model
    return not version_exists(tracking_for(root).client, name, str(data["version"]))


def _final_status(exc: BaseException | None) -> str:
    if exc is None:
        return "FINISHED"
    return "KILLED" if isinstance(exc, STOPPED) else "FAILED"


def _end_reason(exc: BaseException | None) -> dict[str, str]:
    """The run's `vton.end_reason`: a user error's first line, or how the retrain was stopped."""
    if isinstance(exc, VtonError):
        return {Tag.END_REASON: str(exc).splitlines()[0][:500]}
    if isinstance(exc, KeyboardInterrupt):
        return {Tag.END_REASON: "interrupted (Ctrl-C)"}
    if isinstance(exc, TerminationSignal):
        return {Tag.END_REASON: f"terminated ({_signal_name(exc.signal)})"}
    if isinstance(exc, SystemExit):  # `vton retrain` turns SIGTERM into exit 128 + 15
        code = exc.code if isinstance(exc.code, int) else None
        return {Tag.END_REASON: f"terminated ({_signal_name(code - 128) if code and code > 128 else f'exit {code}'})"}
    return {}


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@flow(name="retrain", log_prints=True)
def retrain_flow(
    profile: str | None = None,
    stages: list[str] | None = None,
    force: bool = False,
    root: str | None = None,
    stage_deployments: dict[str, str] | None = None,
    refresh_data: bool = False,
) -> RetrainSummary:
    """Reproduce the pipeline for `profile`, logging to one MLflow run, and finish with promotion."""
    quiet_user_error_tracebacks()
    head = head_start.take()  # `vton retrain` started the first stages already, beside its imports
    try:
        base = Path(root).resolve() if root else project_root()
        if profile:
            set_active_profile(base / "params.yaml", profile)
        params = load_params(base / "params.yaml")
        chain = check_stages(list(stages or params.flow.stages), base)
        reports = base / params.paths.reports
        local = not uses_remote(stage_deployments)
        plan = head_start.segments(chain, force) if local else []
        if head is not None and not (plan and not refresh_data and head.matches(base, chain, force, plan[0])):
            head.abandon("the flow runs other stages")
            head = None
        prepared = prepare_raw_data(base, refresh_data, return_state=True)
        prepared.result()
        run_id, exp_id = start_tracking_run(base, params.profile, params.project.mlflow_experiment, params,
                                            flow_run.get_id(), wait_for=[prepared])
    except BaseException as exc:
        if head is not None:
            head.abandon(f"the retrain ended before opening it: {(str(exc) or type(exc).__name__).splitlines()[0]}")
        raise
    if head is not None:
        hand_over_run_id(head.run_id_path, run_id)
        _CHAINS.update(dict.fromkeys(head.chain.stages, head.chain))
    then = {stage: segment[i + 1:] for segment in plan for i, stage in enumerate(segment)}
    service = tracking_for(base)
    summary = RetrainSummary(
        profile=params.profile,
        mlflow_run_id=run_id,
        mlflow_experiment_id=exp_id,
        tracking_uri=service.uri,
        prefect_flow_run_id=flow_run.get_id(),
        root=base,
        logs_dir=reports / LOGS_DIR,
    )

    def record(status: str) -> None:  # read by the next `vton retrain` before it imports Prefect (flows/no_op.py)
        try:
            write_record(reports / LOGS_DIR, status, params.profile, run_id, exp_id, service.uri, flow_run.get_id())
        except OSError as exc:  # then the next retrain finds the old record and opens its runs as usual
            get_run_logger().warning("could not write the retrain record under %s: %s", reports / LOGS_DIR, exc)

    record("RUNNING")
    error: BaseException | None = None
    diff = None  # the data diff, started once the data stage has written this retrain's data
    try:
        upstream = [prepared]
        retry = {"retries": params.flow.retries, "retry_delay_seconds": params.flow.retry_delay_seconds}
        diff_args = (base, run_id, params.project.registered_model, params.paths.augmented)
        for stage in chain:
            try:
                if uses_remote(stage_deployments):  # infra: data via the DVC remote, stages on work pools
                    state = remote_stage.with_options(**retry)(
                        stage, base, run_id, force, stage_deployments, params.profile, return_state=True,
                        wait_for=upstream)
                else:
                    state = dvc_stage.with_options(**retry)(stage, base, run_id, force, reports, then.get(stage, []),
                                                            return_state=True, wait_for=upstream)
                result = state.result()
                if stage == "train" and result.status is not StageStatus.RAN and candidate_unregistered(base, params):
                    # DVC restored a candidate whose registered version a reset registry no longer has.
                    get_run_logger().warning("the candidate's registered version is gone: training it again")
                    state = dvc_stage.with_options(**retry)(stage, base, run_id, True, reports, return_state=True,
                                                            wait_for=[state])
                    result = state.result()
                summary.stages.append(result)
                if stage == DATA_STAGE and result.status is not StageStatus.SKIPPED and diff is None:
                    diff = log_champion_data_diff.submit(*diff_args, wait_for=[state])  # beside the next stages
            except StageFailed as exc:
                summary.stages.append(StageResult(stage, StageStatus.FAILED, 0.0, exc.reason, exc.log_path))
                raise
            except STOPPED:
                summary.stages.append(StageResult(stage, StageStatus.KILLED, 0.0, "stopped by a signal"))
                raise
            upstream = [state]
        summary.no_op = is_no_op(summary.stages, base)
        if summary.no_op:
            summary.promotion = "not run: no-op (no new data, no code change)"
            get_run_logger().info("no-op: no new data and no code change; DVC skipped every stage, nothing registered")
        else:
            if diff is not None:
                summary.data_diff = diff.result()
            elif (base / params.paths.augmented).is_dir():
                summary.data_diff = log_champion_data_diff(*diff_args, wait_for=upstream)
            summary.promotion = promote_candidate(base, run_id, params.project.registered_model, params.promote,
                                                  summary.stages, params.paths, wait_for=upstream)
    except BaseException as exc:
        error = exc
        raise
    finally:
        for stage in _stop_chains():  # only a retrain ending early leaves one running
            if all(s.stage != stage for s in summary.stages):
                summary.stages.append(StageResult(stage, StageStatus.KILLED, 0.0, "stopped: the retrain ended"))
                service.set_stage_status(run_id, stage, StageStatus.KILLED.value)
        if diff is not None:
            diff.wait()  # it logs into the run: before the run ends
        if head is not None:
            head.run_id_path.unlink(missing_ok=True)
        summary.status = _final_status(error)
        service.end_retrain(run_id, summary.status, {
            Tag.STAGES: summary.stage_line(),
            Tag.NOOP: str(summary.no_op).lower(),
            **_end_reason(error),
        })
        _publish_summary(summary)
        record(summary.status)
    return summary
