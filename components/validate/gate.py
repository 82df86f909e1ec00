"""Run the suites on the facts with Great Expectations and fold the results into one verdict per rule."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from components.fit import FIT_LABELS
from components.manifest.schema import CATEGORIES
from components.validate.facts import Facts
from components.validate.params import ValidateParams
from components.validate.rules import RULES

# Which columns identify a failing row of each table (they come back with GX's unexpected rows).
INDEX_COLUMNS: dict[str, list[str]] = {
    "samples": ["sample_id", "category", "split"],
    "rows": ["sample_id", "category", "split"],
    "groups": ["category", "split"],
    "categories": ["category"],
    "sources": ["source"],
}


@dataclass
class RuleResult:
    """The verdict on one rule: its failing rows, per category, with examples."""

    name: str
    suite: str
    description: str
    severity: str  # error | warn | off
    success: bool = True
    checked: int = 0  # rows the rule looked at
    unexpected: int = 0  # distinct failing rows (samples, groups or sources)
    per_category: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    sample_ids: list[str] = field(default_factory=list)  # failing samples, for thumbnails
    expectations: list[dict] = field(default_factory=list)  # type, column, success, unexpected

    @property
    def status(self) -> str:
        """passed | failed (an error) | warned | off."""
        if self.severity == "off":
            return "off"
        if self.success:
            return "passed"
        return "failed" if self.severity == "error" else "warned"


@dataclass
class GateResult:
    """All rule verdicts for one manifest, the figures behind them and how they were computed."""

    rules: list[RuleResult]
    figures: dict[str, dict[str, float | None]]  # "overall" and each category -> figure -> value
    notes: list[str]
    dataset: str = ""

    @property
    def passed(self) -> bool:
        """True when no `error` rule failed."""
        return not self.failed

    @property
    def failed(self) -> list[RuleResult]:
        """The error rules that failed."""
        return [r for r in self.rules if r.status == "failed"]

    @property
    def warned(self) -> list[RuleResult]:
        """The warn rules that failed."""
        return [r for r in self.rules if r.status == "warned"]

    def summary(self, report_path: str | None = None) -> str:
        """One paragraph a person can act on: what failed, in which categories, how often, for example where."""

        def describe(r: RuleResult) -> str:
            cats = ", ".join(f"{c} {n}" for c, n in r.per_category.items() if n)
            where = f" [{cats}]" if cats else ""
            return f"{r.name} ({r.description}): {r.unexpected} failing{where}, e.g. {'; '.join(r.examples)}"

        head = f"data-quality gate {'passed' if self.passed else 'FAILED'} on {self.dataset or 'the manifest'}"
        n = self.figures.get("overall", {})
        head += f" ({int(n.get('n_rows', 0))} samples, {int(n.get('n_ok', 0))} ok)"
        parts = [head + ("." if self.passed else f": {len(self.failed)} error rule(s) failed. ")]
        if self.failed:
            parts.append(" | ".join(describe(r) for r in self.failed) + ".")
        if self.warned:
            parts.append(f" Warnings ({len(self.warned)}): " + "; ".join(
                f"{r.name} {r.unexpected} failing" for r in self.warned) + ".")
        if report_path:
            parts.append(f" Report: {report_path}")
        return "".join(parts).replace("\n", " ")


def _describe_row(entry: dict, table: str, index: list[str]) -> str:
    key = entry.get("sample_id") or "/".join(str(entry.get(c)) for c in index)
    cat = f" ({entry['category']})" if "sample_id" in entry and "category" in entry else ""
    values = ", ".join(f"{k}={_short(v)}" for k, v in entry.items() if k not in index)
    return f"{key}{cat}: {values}" if values else f"{key}{cat}"


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _validate_tables(planned: list[tuple[str, str, object]], facts: Facts) -> list[tuple[str, object]]:
    """Run every planned expectation with GX on its table; (table, ExpectationValidationResult) pairs."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_pandas("vton")
    results: list[tuple[str, object]] = []
    tables = {t for _, t, _ in planned}
    for table in sorted(tables):
        frame: pd.DataFrame = getattr(facts, table)
        suite = gx.ExpectationSuite(name=f"vton.{table}")
        for _, t, exp in planned:
            if t == table:
                suite.add_expectation(exp)
        suite = context.suites.add(suite)
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        outcome = batch.validate(suite, result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": INDEX_COLUMNS[table],
            "return_unexpected_index_query": False,
        })
        results.extend((table, r) for r in outcome.results)
    return results


def run_gate(facts: Facts, params: ValidateParams, dataset: str = "") -> GateResult:
    """Validate `facts` against every rule whose severity is not `off`; nothing raises here (see stage.py)."""
    from components.validate.suites import planned_expectations

    planned = planned_expectations(params)
    by_rule: dict[str, RuleResult] = {
        r.name: RuleResult(r.name, r.suite, r.description, params.severity_of(r.name)) for r in RULES
    }
    failing: dict[str, dict[str, dict]] = {name: {} for name in by_rule}
    for table, res in _validate_tables(planned, facts):
        cfg = res.expectation_config
        rule = by_rule[cfg.meta["rule"]]
        index = INDEX_COLUMNS[table]
        result = res.result or {}
        unexpected_rows = result.get("unexpected_index_list") or []
        rule.success = rule.success and bool(res.success)
        rule.checked = max(rule.checked, int(result.get("element_count") or len(getattr(facts, table))))
        column = cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list") or [])
        cond = cfg.kwargs.get("row_condition")
        rule.expectations.append({
            "type": cfg.type, "table": table, "column": column,
            "where": str(cond) if cond else "", "success": bool(res.success),
            "unexpected": int(result.get("unexpected_count") or len(unexpected_rows)),
        })
        for entry in unexpected_rows:
            if not isinstance(entry, dict):
                continue
            key = "|".join(str(entry.get(c)) for c in index)
            failing[rule.name].setdefault(key, entry | {"__table": table})
    for name, rows in failing.items():
        rule = by_rule[name]
        rule.unexpected = len(rows)
        if not rows and not rule.success:  # an aggregate expectation with no row list
            rule.unexpected = sum(e["unexpected"] for e in rule.expectations if not e["success"]) or 1
        cats = Counter(e.get("category") for e in rows.values() if e.get("category") in CATEGORIES)
        rule.per_category = {c: cats.get(c, 0) for c in CATEGORIES} if cats else {}
        for entry in list(rows.values())[: params.examples]:
            table = entry.pop("__table")
            rule.examples.append(_describe_row(entry, table, INDEX_COLUMNS[table]))
        rule.sample_ids = [e["sample_id"] for e in rows.values() if e.get("sample_id")][: max(params.thumbnails, 0)]
    return GateResult(list(by_rule.values()), figures(facts), list(facts.notes), dataset)


def figures(facts: Facts) -> dict[str, dict[str, float | None]]:
    """Data figures per category and overall: counts, splits, quarantine, keypoint and mask statistics."""
    s, rows = facts.samples, facts.rows
    out: dict[str, dict[str, float | None]] = {}
    for name in ("overall", *CATEGORIES):
        sel = s if name == "overall" else s[s["category"] == name]
        r = rows if name == "overall" else rows[rows["category"] == name]
        n_ok = len(sel)
        fig = {
            "n_rows": float(len(r)),
            "n_ok": float(n_ok),
            "n_quarantined": float(len(r) - n_ok),
            "quarantine_rate": float((len(r) - n_ok) / len(r)) if len(r) else 0.0,
            "n_train": float((sel["split"] == "train").sum()),
            "n_test": float((sel["split"] == "test").sum()),
            "n_augmented": float(sel["parent_id"].notna().sum()),
        }
        labels = sel["fit_label"] if "fit_label" in sel.columns else pd.Series(dtype=object)
        for label in FIT_LABELS:  # the fit-label mix (components/fit): what a size-aware model can learn from
            fig[f"n_fit_{label}"] = float((labels == label).sum())
        fig["n_fit_unlabelled"] = float(n_ok - labels.isin(FIT_LABELS).sum())
        for col in ("keypoint_count", "keypoint_confidence_mean", "cloth_mask_fraction", "agnostic_mask_fraction"):
            vals = pd.to_numeric(sel[col], errors="coerce").dropna()
            key = col if col.endswith("_mean") else f"{col}_mean"
            fig[key] = round(float(vals.mean()), 6) if len(vals) else None
        out[name] = fig
    return out
