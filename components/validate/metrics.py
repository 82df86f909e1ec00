"""The metrics JSON DVC tracks (`dvc metrics diff` shows how data quality moved) and its MLflow flattening."""

from __future__ import annotations

import json
import math
from pathlib import Path

from components.validate.gate import GateResult


def metrics_document(result: GateResult) -> dict:
    """Numbers only (so `dvc metrics diff` can compare them): the verdict, each rule's failures per category, figures."""
    rules = {}
    for r in result.rules:
        if r.severity == "off":
            continue
        rules[r.name] = {"passed": int(r.success), "unexpected": r.unexpected, "checked": r.checked,
                         **({"per_category": dict(r.per_category)} if r.per_category else {})}
    return {
        "gate_passed": int(result.passed),
        "errors": len(result.failed),
        "warnings": len(result.warned),
        "rules": rules,
        "data": result.figures,
    }


def flatten(doc: dict, prefix: str = "") -> dict[str, float]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1.0}`, skipping None/NaN (for mlflow.log_metrics)."""
    out: dict[str, float] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
            out[name] = float(value)
    return out


def write_metrics(result: GateResult, path: Path) -> Path:
    """Write the metrics JSON to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics_document(result), indent=2, sort_keys=True) + "\n")
    return path
