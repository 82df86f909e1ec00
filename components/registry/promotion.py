"""Promotion with aliases: the evaluated version becomes `challenger`; `champion` moves only through the gates.

Everything that moves an alias runs under the registry lock and re-reads the aliases there (compare-and-set):
the challenger was evaluated against a specific champion (run tag `vton.eval.champion_version`); if the
champion has changed since, the comparison is stale and the promotion is refused. Re-running a promotion
for the same version changes nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from components.config.paths import PathsParams
from components.errors import ConfigError, GateFailed, VtonError
from components.evaluate.metrics_spec import GREATER_IS_BETTER
from components.manifest.schema import CATEGORIES
from components.project import resolve
from components.registry.gates import (
    FigureCalibration,
    Figures,
    GateCheck,
    data_gate_check,
    lineage_check,
    metric_gate_checks,
    min_pairs_checks,
)
from components.registry.ledger import LedgerEntry, append_entry, log_ledger_artifact, now_iso, read_ledger
from components.registry.lock import registry_lock
from components.registry.params import PromoteParams
from components.tracking.contract import Metric, Tag

CHAMPION, CHALLENGER = "champion", "challenger"
REVIEW_TAG = Tag.REVIEW


@dataclass
class Decision:
    """What a promotion did."""

    outcome: str  # promoted | kept | pending | refused
    version: str
    champion_before: str | None
    champion_after: str | None
    message: str
    checks: list[GateCheck] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 for promoted/kept/pending, 3 when a gate refused."""
        return 3 if self.outcome == "refused" else 0


def alias_version(client, name: str, alias: str) -> str | None:
    """The version `alias` points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def get_run(client, run_id: str):  # noqa: ANN001, ANN201 - MLflow's client and Run
    """The MLflow run `run_id`, or a ConfigError saying it does not exist in this store."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException:
        raise ConfigError(f"no MLflow run {run_id!r} in {client.tracking_uri}",
                          hint="pass the retrain's run id (`vton retrain` prints it), or check MLFLOW_TRACKING_URI") \
            from None


def get_version(client, name: str, version: str):  # noqa: ANN001, ANN201 - MLflow's client and ModelVersion
    """Model version `version` of `name`, or a ConfigError saying which of the two is missing."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        pass
    try:
        client.get_registered_model(name)
    except MlflowException:
        raise ConfigError(f"no registered model {name!r} in {client.tracking_uri}",
                          hint="run the train stage (it registers the candidate), or check MLFLOW_TRACKING_URI") \
            from None
    raise ConfigError(f"{name} has no version {version}",
                      hint=f"see the versions with `mlflow models` / the MLflow UI (registered model {name})")


def version_exists(client, name: str, version: str) -> bool:
    """True when `name` v`version` is in the registry (a reset registry may have lost what a cache restored)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, str(version))
    except MlflowException:
        return False
    return True


def candidate_registered(name: str, version: str) -> bool:
    """True when the candidate's version is in the registry; else a warning that says how to register it again."""
    import sys

    import mlflow

    if version_exists(mlflow.MlflowClient(), name, version):
        return True
    print(f"warning: the candidate names {name} v{version}, which is not in the registry (was it reset?); its "
          "figures are on the run, not on a model version. Register it again: `dvc repro -f train`", file=sys.stderr)
    return False


def find_version_for_run(client, name: str, run_id: str, root: Path | None = None,
                         paths: PathsParams | None = None) -> str:
    """The version of `name` registered from run `run_id` (else the one <paths.models>/candidate/registered.json
    names)."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    except MlflowException:
        versions = []
    if versions:
        return str(max(int(v.version) for v in versions))
    record = resolve((paths or PathsParams()).models, root or Path.cwd()) / "candidate" / "registered.json"
    if record.is_file():
        data = json.loads(record.read_text())
        if data.get("name") == name and data.get("version") is not None:
            version = str(data["version"])
            if version_exists(client, name, version):
                return version
            raise ConfigError(
                f"the candidate names {name} v{version} ({record}), which is not in the registry at "
                f"{client.tracking_uri} (was the registry reset?)",
                hint="register it again: `dvc repro -f train` (or `vton retrain --force`)",
            )
    raise ConfigError(f"run {run_id} registered no version of {name!r}",
                      hint="run the train stage (it registers the candidate) before promoting")


def figures_from_run(metrics: dict[str, float], prefix: str) -> Figures:
    """`eval.<scope>.<figure>` metrics (or `eval.champion.<scope>.<figure>`) as {scope: {figure: value}}."""
    out: Figures = {}
    for key, value in metrics.items():
        if not key.startswith(prefix + "."):
            continue
        rest = key[len(prefix) + 1 :]
        scope, _, figure = rest.partition(".")
        if scope == "champion" or not figure or "." in figure:
            continue
        out.setdefault(scope, {})[figure] = value
    return out


def data_gate_passed(run, root: Path, paths: PathsParams | None = None) -> tuple[bool | None, str]:
    """The validate stage's verdict: the run's `vton.validate.gate` tag, else <paths.reports>/validate/metrics.json."""
    tag = run.data.tags.get(Tag.VALIDATE_GATE)
    if tag in ("passed", "failed"):
        return tag == "passed", "run tag vton.validate.gate"
    path = resolve((paths or PathsParams()).reports, root) / "validate" / "metrics.json"
    if path.is_file():
        doc = json.loads(path.read_text())
        if "gate_passed" in doc:
            return bool(doc["gate_passed"]), str(path)
    return None, f"no vton.validate.gate tag on the run and no {path}"


def gate_checks(client, run, params: PromoteParams, root: Path, with_champion: bool,
                paths: PathsParams | None = None) -> list[GateCheck]:
    """Every gate for the challenger evaluated in `run`."""
    metrics = run.data.metrics
    challenger = figures_from_run(metrics, Metric.EVAL)
    champion = figures_from_run(metrics, Metric.EVAL_CHAMPION) if with_champion else None
    categories = [c for c in CATEGORIES if c in challenger or c in params.required_categories]
    checks = min_pairs_checks(challenger, categories, params.min_pairs_per_category, params)
    if not challenger:
        checks.append(GateCheck("evaluation", False, "the run has no eval.* metrics: run the evaluate stage"))
    checks += metric_gate_checks(challenger, champion, params, FigureCalibration.from_tags(run.data.tags))
    if params.require_data_gate:
        checks.append(data_gate_check(*data_gate_passed(run, root, paths)))
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    checks.append(lineage_check(run.data.tags, "params.yaml" in artifacts or bool(run.data.params),
                                params.required_lineage))
    return checks


def _evidence(run, version: str, checks: list[GateCheck]) -> dict:
    tags = run.data.tags
    return {
        "run_id": run.info.run_id,
        "version": version,
        "review_grid": f"runs:/{run.info.run_id}/evaluate/images/review_grid.png",
        "calibration": tags.get(Tag.EVAL_CALIBRATION),
        "evaluated_against": tags.get(Tag.EVAL_CHAMPION_VERSION),
        "failed": [str(c) for c in checks if not c.passed],
        "overall": {k: round(v, 5)
                    for k, v in figures_from_run(run.data.metrics, Metric.EVAL).get("overall", {}).items()
                    if k in GREATER_IS_BETTER and math.isfinite(v)},
    }


def _move(client, name: str, alias: str, version: str, entry: LedgerEntry, run_id: str | None) -> LedgerEntry:
    client.set_registered_model_alias(name, alias, version)
    entry = append_entry(client, name, entry)
    if run_id:
        log_ledger_artifact(client, name, run_id)
    return entry


def _set_version_tags(client, name: str, version: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def promote_run(
    client, name: str, run_id: str, params: PromoteParams, root: Path, by: str = "gate:promote",
    paths: PathsParams | None = None,
) -> Decision:
    """Make the version registered by `run_id` the challenger and, if every gate passes, the champion.

    `paths` (params.paths; default the default layout) says where under `root` train and validate wrote."""
    run = get_run(client, run_id)
    version = find_version_for_run(client, name, run_id, root, paths)
    with registry_lock(client, name, f"promote v{version} (run {run_id})", params.lock_timeout_s):
        champion = alias_version(client, name, CHAMPION)
        if champion == version:
            return Decision("kept", version, champion, champion, f"kept: v{version} is already champion")
        if alias_version(client, name, CHALLENGER) != version:
            previous = alias_version(client, name, CHALLENGER)
            _move(client, name, CHALLENGER, version,
                  LedgerEntry("challenger", CHALLENGER, previous, version, by, {"run_id": run_id}, previous), run_id)
        tags = client.get_model_version(name, version).tags or {}
        if tags.get(REVIEW_TAG) == "rejected":
            return Decision("refused", version, champion, champion,
                            f"refused: v{version} was rejected by {tags.get(Tag.REVIEW_BY, '?')}")
        if tags.get(REVIEW_TAG) == "pending":
            return Decision("pending", version, champion, champion,
                            f"pending: v{version} awaits review (`vton registry approve {version} --by NAME`)")
        evaluated_against = run.data.tags.get(Tag.EVAL_CHAMPION_VERSION)
        expected = None if evaluated_against in (None, "none") else evaluated_against
        if champion != expected:
            check = GateCheck("compare-and-set", False,
                              f"evaluated against champion {expected or 'none'} but the champion is now "
                              f"{champion or 'none'}: re-run `vton evaluate` against the new champion")
            return Decision("refused", version, champion, champion, f"refused: {check.detail}", [check])
        checks = gate_checks(client, run, params, root, with_champion=champion is not None, paths=paths)
        failed = [c for c in checks if not c.passed]
        _set_version_tags(client, name, version, {
            Tag.GATES: "failed" if failed else "passed",
            Tag.GATES_AT: now_iso(),
            Tag.GATE_CHECKS: json.dumps([str(c) for c in checks])[:90000],
            Tag.EVALUATED_AGAINST: expected or "none",
        })
        if failed:
            reasons = "; ".join(f"{c.gate}: {c.detail}" for c in failed)
            return Decision("refused", version, champion, champion, f"refused: {reasons}", checks)
        if params.require_approval:
            _set_version_tags(client, name, version, {REVIEW_TAG: "pending"})
            return Decision("pending", version, champion, champion,
                            f"pending: v{version} passed every gate and awaits review "
                            f"(`vton registry review`, then `vton registry approve {version} --by NAME`)", checks)
        entry = LedgerEntry("promote", CHAMPION, champion, version, by, _evidence(run, version, checks), champion)
        _move(client, name, CHAMPION, version, entry, run_id)
        return Decision("promoted", version, champion, version,
                        f"promoted: v{version} is champion (was {('v' + champion) if champion else 'none'})", checks)


def _registry_run(client, experiment_id: str, action: str, version: str | None) -> str:
    run = client.create_run(experiment_id, run_name=f"registry-{action}",
                            tags={Tag.STAGE: "registry", Tag.REGISTRY_ACTION: action,
                                  Tag.REGISTRY_VERSION: version or ""})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def review_decision(client, name: str, version: str, approve: bool, by: str, note: str,
                    params: PromoteParams, experiment_id: str) -> Decision:
    """Approve (moving `champion`, compare-and-set) or reject a challenger awaiting review; both are recorded."""
    if not by.strip():
        raise ConfigError("--by is required: who decided")
    with registry_lock(client, name, f"{'approve' if approve else 'reject'} v{version}", params.lock_timeout_s):
        champion = alias_version(client, name, CHAMPION)
        tags = get_version(client, name, version).tags or {}
        state = tags.get(REVIEW_TAG)
        if state in ("approved", "rejected"):
            if (state == "approved") == approve:
                return Decision("kept", version, champion, champion, f"kept: v{version} was already {state}")
            raise VtonError(f"v{version} was already {state} by {tags.get(Tag.REVIEW_BY, '?')}",
                            hint="register and evaluate a new version instead of reversing a decision")
        if state != "pending":
            raise VtonError(f"v{version} is not awaiting review (review={state or 'unset'})",
                            hint="only versions that passed every gate with require_approval wait for review")
        decided = {REVIEW_TAG: "approved" if approve else "rejected", Tag.REVIEW_BY: by,
                   Tag.REVIEW_NOTE: note, Tag.REVIEW_AT: now_iso()}
        evidence = {"gate_checks": json.loads(tags.get(Tag.GATE_CHECKS, "[]"))[:50],
                    "evaluated_against": tags.get(Tag.EVALUATED_AGAINST)}
        run_id = _registry_run(client, experiment_id, "approve" if approve else "reject", version)
        if not approve:
            _set_version_tags(client, name, version, decided)
            entry = LedgerEntry("reject", None, champion, version, by, evidence, None, note)
            append_entry(client, name, entry)
            log_ledger_artifact(client, name, run_id)
            return Decision("refused", version, champion, champion, f"rejected: v{version} by {by}")
        expected = tags.get(Tag.EVALUATED_AGAINST)
        expected = None if expected in (None, "none") else expected
        if champion != expected:
            raise GateFailed(f"v{version} was evaluated against champion {expected or 'none'} but the champion is now "
                             f"{champion or 'none'}", hint="re-run `vton evaluate` and `vton registry promote`")
        _set_version_tags(client, name, version, decided)
        _move(client, name, CHAMPION, version,
              LedgerEntry("approve", CHAMPION, champion, version, by, evidence, champion, note), run_id)
        return Decision("promoted", version, champion, version, f"promoted: v{version} approved by {by}")


def rollback(client, name: str, by: str, note: str, params: PromoteParams, experiment_id: str,
             to: str | None = None) -> Decision:
    """Move `champion` back to the version it replaced (or to `to`); recorded in the ledger."""
    with registry_lock(client, name, "rollback", params.lock_timeout_s):
        champion = alias_version(client, name, CHAMPION)
        if champion is None:
            raise VtonError(f"{name} has no champion to roll back",
                            hint="nothing was promoted yet: `vton registry promote --run-id RUN` first")
        target = to
        if target is None:
            # The promotion that put the current champion in place (a rollback is not undone by another one).
            moves = [e for e in read_ledger(client, name)
                     if e.alias == CHAMPION and e.to_version == champion and e.action != "rollback"]
            target = moves[-1].rollback_target if moves else None
        if target is None:
            raise VtonError(f"the ledger of {name} has no version before champion v{champion}",
                            hint="pass --to VERSION to choose one")
        get_version(client, name, target)  # fails clearly when it does not exist
        run_id = _registry_run(client, experiment_id, "rollback", target)
        _move(client, name, CHAMPION, target,
              LedgerEntry("rollback", CHAMPION, champion, target, by, {"reason": note}, champion, note), run_id)
        return Decision("promoted", target, champion, target, f"rolled back: champion v{champion} -> v{target}")


def review_text(client, name: str) -> str:
    """The evidence for every version awaiting review: gate checks, figures beside the champion's, picture links."""
    pending = [v for v in client.search_model_versions(f"name='{name}'") if (v.tags or {}).get(REVIEW_TAG) == "pending"]
    champion = alias_version(client, name, CHAMPION)
    if not pending:
        return f"{name}: nothing awaits review (champion: {('v' + champion) if champion else 'none'})"
    lines = []
    for v in sorted(pending, key=lambda v: int(v.version)):
        run = client.get_run(v.run_id) if v.run_id else None
        lines.append(f"{name} v{v.version} awaits review (champion: {('v' + champion) if champion else 'none'})")
        if run is not None:
            lines.append(f"  calibration: {run.data.tags.get(Tag.EVAL_CALIBRATION, '?')}")
            mine = figures_from_run(run.data.metrics, Metric.EVAL)
            theirs = figures_from_run(run.data.metrics, Metric.EVAL_CHAMPION)
            lines.append(f"  {'scope.figure':<32}{'challenger':>12}{'champion':>12}")
            for scope in sorted(mine):
                for figure in sorted(f for f in mine[scope] if f in GREATER_IS_BETTER):
                    c = theirs.get(scope, {}).get(figure)
                    lines.append(f"  {scope + '.' + figure:<32}{mine[scope][figure]:>12.4f}"
                                 f"{(f'{c:>12.4f}' if c is not None else '         n/a')}")
        for key in (Tag.EVAL_REVIEW_GRID, Tag.EVAL_WORST_CASES, Tag.EVAL_REPORT):
            if key in (v.tags or {}):
                lines.append(f"  {key.rsplit('.', 1)[-1]}: {v.tags[key]}")
        lines.append(f"  decide: vton registry approve {v.version} --by NAME --note TEXT  |  "
                     f"vton registry reject {v.version} --by NAME --note TEXT")
    return "\n".join(lines)
