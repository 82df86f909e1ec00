"""What changed between two versions of a dataset: samples added and removed per category and source,
annotation drift, and quarantine reasons that are new. Versions come from git/DVC revisions or DataFrames.

The retrain flow diffs the current data against the champion model's data (its MLflow run's
`vton.code_version` tag names the git commit whose dvc.lock pins that data): see `diff_against_run`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from components.errors import DataContractError
from components.manifest.schema import CATEGORIES, MANIFEST_FILENAME, conform
from components.tracking.contract import Metric, Tag, metric_key

WORKSPACE = "workspace"  # the revision name for the files on disk now
DRIFT_COLUMNS: tuple[str, ...] = (
    "keypoint_count", "keypoint_confidence_mean", "person_mask_area", "cloth_mask_area", "agnostic_mask_area",
)


@dataclass
class DatasetDiff:
    """The differences between an old and a new manifest."""

    old_label: str
    new_label: str
    n_old: int
    n_new: int
    changes: pd.DataFrame  # category, source, old, new, added, removed, newly_quarantined, newly_ok
    drift: pd.DataFrame  # category, figure, old, new, change
    reasons: pd.DataFrame  # reason, old, new (quarantine reasons, sample-specific numbers masked)
    new_reasons: list[str] = field(default_factory=list)

    @property
    def added(self) -> int:
        """Samples in new and not in old."""
        return int(self.changes["added"].sum()) if len(self.changes) else 0

    @property
    def removed(self) -> int:
        """Samples in old and not in new."""
        return int(self.changes["removed"].sum()) if len(self.changes) else 0

    def summary(self) -> str:
        """One line: sizes, added, removed, new quarantine reasons."""
        line = (f"{self.old_label} -> {self.new_label}: {self.n_old} -> {self.n_new} samples, "
                f"+{self.added} added, -{self.removed} removed")
        if self.new_reasons:
            line += f", {len(self.new_reasons)} new quarantine reason(s)"
        return line

    def to_dict(self) -> dict:
        """A JSON-able form (for MLflow `log_dict` or a Prefect table artifact)."""
        return {
            "old": self.old_label, "new": self.new_label, "n_old": self.n_old, "n_new": self.n_new,
            "added": self.added, "removed": self.removed,
            "changes": self.changes.to_dict(orient="records"),
            "drift": self.drift.astype(object).where(self.drift.notna(), None).to_dict(orient="records"),
            "reasons": self.reasons.to_dict(orient="records"),
            "new_reasons": list(self.new_reasons),
        }


def reason_kind(reason: str) -> str:
    """A quarantine reason without its per-sample parts: a leading file/origin prefix and the numbers."""
    head, sep, rest = reason.partition(": ")
    if sep and ("/" in head or re.search(r"\.\w{2,4}$", head)):
        reason = rest
    return re.sub(r"\d+(\.\d+)?", "#", reason).strip()


def _changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    keys = ["category", "source"]
    o = old.set_index("sample_id")
    n = new.set_index("sample_id")
    both = o.index.intersection(n.index)
    frames = {
        "old": old[keys],
        "new": new[keys],
        "added": new.loc[~new["sample_id"].isin(o.index), keys],
        "removed": old.loc[~old["sample_id"].isin(n.index), keys],
        "newly_quarantined": n.loc[both][(o.loc[both, "status"] == "ok") & (n.loc[both, "status"] == "quarantined")][keys],
        "newly_ok": n.loc[both][(o.loc[both, "status"] == "quarantined") & (n.loc[both, "status"] == "ok")][keys],
    }
    counted = [f.groupby(keys).size().rename(name) for name, f in frames.items()]
    table = pd.concat(counted, axis=1).fillna(0).astype(int).reset_index()
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def _drift(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for cat in ("overall", *CATEGORIES):
        o = old if cat == "overall" else old[old["category"] == cat]
        n = new if cat == "overall" else new[new["category"] == cat]
        o, n = o[o["status"] == "ok"], n[n["status"] == "ok"]
        for col in DRIFT_COLUMNS:
            a = pd.to_numeric(o[col], errors="coerce").mean()
            b = pd.to_numeric(n[col], errors="coerce").mean()
            rows.append({"category": cat, "figure": f"mean {col}", "old": a, "new": b, "change": b - a})
    return pd.DataFrame(rows)


def _reasons(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    def count(df: pd.DataFrame) -> pd.Series:
        q = df.loc[df["status"] == "quarantined", "quarantine_reason"].dropna().astype(str)
        return q.map(reason_kind).value_counts()

    table = pd.concat([count(old).rename("old"), count(new).rename("new")], axis=1).fillna(0).astype(int)
    table = table.rename_axis("reason").reset_index().sort_values(["new", "reason"], ascending=[False, True])
    fresh = table.loc[(table["old"] == 0) & (table["new"] > 0), "reason"].tolist()
    return table.reset_index(drop=True), fresh


def diff_manifests(old_df: pd.DataFrame, new_df: pd.DataFrame, old_label: str = "old", new_label: str = "new") -> DatasetDiff:
    """Compare two manifests (any rows, any statuses): per category and source, drift of annotation figures, reasons."""
    old, new = conform(old_df, old_label), conform(new_df, new_label)
    reasons, fresh = _reasons(old, new)
    return DatasetDiff(old_label, new_label, len(old), len(new), _changes(old, new), _drift(old, new), reasons, fresh)


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "-" if pd.isna(v) else f"{v:.4g}"
    return str(v)


def render_markdown(diff: DatasetDiff) -> str:
    """The diff as Markdown tables (for the terminal, a Prefect markdown artifact or an MLflow text artifact)."""
    lines = [f"## Dataset diff: {diff.old_label} -> {diff.new_label}", "", diff.summary(), ""]
    lines += ["### Samples per category and source", "",
              "| category | source | old | new | added | removed | newly quarantined | newly ok |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in diff.changes.itertuples(index=False):
        lines.append(f"| {r.category} | {r.source} | {r.old} | {r.new} | {r.added} | {r.removed} | "
                     f"{r.newly_quarantined} | {r.newly_ok} |")
    lines += ["", "### Annotation drift (ok samples)", "", "| category | figure | old | new | change |",
              "|---|---|---:|---:|---:|"]
    for r in diff.drift.itertuples(index=False):
        change = "-" if pd.isna(r.change) else f"{r.change:+.4g}"
        lines.append(f"| {r.category} | {r.figure} | {_fmt(r.old)} | {_fmt(r.new)} | {change} |")
    lines += ["", "### Quarantine reasons", ""]
    if diff.reasons.empty:
        lines.append("none in either version")
    else:
        lines += ["| reason | old | new | |", "|---|---:|---:|---|"]
        for r in diff.reasons.itertuples(index=False):
            lines.append(f"| {r.reason} | {r.old} | {r.new} | {'**new**' if r.reason in diff.new_reasons else ''} |")
    return "\n".join(lines) + "\n"


def read_manifest_at(rev: str, manifest: str, repo: Path) -> pd.DataFrame:
    """The manifest at `manifest` (a dataset dir or the parquet file, relative to `repo`) as of git revision `rev`.

    DVC resolves the revision's dvc.lock / .dvc files and reads the file from the cache or the remote;
    `rev="workspace"` reads the file on disk now.
    """
    path = manifest if manifest.endswith(".parquet") else f"{manifest.rstrip('/')}/{MANIFEST_FILENAME}"
    if rev == WORKSPACE:
        local = Path(repo) / path
        if not local.is_file():
            raise DataContractError(f"{local}: manifest not found", hint="run `dvc repro` or name a revision")
        return pd.read_parquet(local)
    import dvc.api

    try:
        data = dvc.api.read(path, repo=str(repo), rev=rev, mode="rb")
    except Exception as exc:  # noqa: BLE001 - DVC raises many types; all mean "not at that revision"
        raise DataContractError(
            f"cannot read {path} at revision {rev!r}: {type(exc).__name__}: {exc}",
            hint="check the revision exists (git log) and its data is in the DVC cache or remote (dvc pull)",
        ) from None
    return pd.read_parquet(io.BytesIO(data))


def diff_revisions(rev_a: str, rev_b: str, manifest: str, repo: Path) -> DatasetDiff:
    """Diff the manifest between two git/DVC revisions (either may be `workspace`)."""
    old = read_manifest_at(rev_a, manifest, repo)
    new = read_manifest_at(rev_b, manifest, repo)
    return diff_manifests(old, new, rev_a, rev_b)


def champion_revision(tags: dict[str, str]) -> str:
    """The git commit a model's MLflow run was trained from (`vton.code_version`, `-dirty` dropped)."""
    code = tags.get(Tag.CODE_VERSION)
    if not code:
        raise DataContractError("the champion's MLflow run has no vton.code_version tag",
                                hint="runs started by the retrain flow carry it; older runs cannot be diffed")
    return code.removesuffix("-dirty")


def diff_against_run(tags: dict[str, str], manifest: str, repo: Path, new_rev: str = WORKSPACE) -> DatasetDiff:
    """Diff the data a model was trained on (its run's tags) against `new_rev` (default: the workspace)."""
    old_rev = champion_revision(tags)
    old = read_manifest_at(old_rev, manifest, repo)
    new = read_manifest_at(new_rev, manifest, repo)
    label = f"champion@{old_rev[:8]}"
    if tags.get(Tag.DATA_VERSION):
        label += f" (raw data {tags[Tag.DATA_VERSION][:8]})"
    return diff_manifests(old, new, label, new_rev)


def champion_data_diff(registered_model: str, manifest: str, repo: Path, alias: str = "champion") -> DatasetDiff | None:
    """Diff the workspace data against the data the `alias` model version was trained on; None when there is none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(registered_model, alias)
    except MlflowException:  # no registered model or no champion yet: nothing to compare against
        return None
    return diff_against_run(client.get_run(version.run_id).data.tags, manifest, repo)


def log_diff(diff: DatasetDiff, artifact_dir: str = "data_diff") -> None:
    """Log the diff to the active MLflow run: Markdown and JSON artifacts plus added/removed counts."""
    import mlflow

    mlflow.log_text(render_markdown(diff), f"{artifact_dir}/diff.md")
    mlflow.log_dict(diff.to_dict(), f"{artifact_dir}/diff.json")
    mlflow.log_metrics({metric_key(Metric.DATA_DIFF, "added"): diff.added,
                        metric_key(Metric.DATA_DIFF, "removed"): diff.removed,
                        metric_key(Metric.DATA_DIFF, "new_quarantine_reasons"): len(diff.new_reasons)})
    mlflow.set_tag(Tag.DATA_DIFF, diff.summary()[:500])
