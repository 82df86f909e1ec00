"""The tracking contract: every tag and metric key is named once, with one separator, and used by name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from components.tracking.contract import Metric, Tag, key, ledger_tag, metric_key, stage_status_tag

REPO = Path(__file__).resolve().parents[2]
# Where the contract is the only spelling of a tracking key.
MIGRATED = ("flows", "components/stage", "components/tracking", "components/registry", "components/validate",
            "components/train", "components/evaluate", "components/annotate")
# `vton.` keys that are not MLflow's: metadata inside exported ONNX files (read back to check their source).
NOT_TRACKING = ("components/annotate/networks/densepose_onnx.py",)
SCANNED = ("components", "flows")
# Call name -> index of the key among positional args ((client form, fluent form) where they differ).
KEY_ARG = {"set_tag": (1, 0), "log_metric": (1, 0), "log_param": (1, 0), "set_model_version_tag": (2, 2),
           "set_registered_model_tag": (1, 1)}
MAPPING_CALLS = ("set_tags", "log_metrics", "log_params")
LITERAL = re.compile(r"""["']vton\.[a-z_]+[."']|["']prefect\.flow_run_id"""
                     r"""|["'](eval|validate|data_diff)\.[a-z_]+["']"""
                     r"""|["']train/(?![^"']*\.(png|jpg|json|csv)["'])""")  # artifact paths may say train/


def _values(cls: type) -> dict[str, str]:
    return {k: v for k, v in vars(cls).items() if k.isupper()}


def test_no_tag_or_metric_key_is_spelt_outside_the_contract():
    found = []
    for folder in MIGRATED:
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "contract.py" or str(path.relative_to(REPO)) in NOT_TRACKING:
                continue
            found += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
                      if LITERAL.search(line)]
    assert found == []


def test_tag_keys_are_unique_namespaced_and_use_one_separator():
    tags = _values(Tag)
    assert len(set(tags.values())) == len(tags), "two names for one tag"
    for name, value in tags.items():
        assert "/" not in value and "__" not in value and value == value.strip("."), name
        # `review` (MLflow UI's model-version review column) and Prefect's run id are the two outside `vton.`.
        assert value.startswith("vton.") or value in ("review", "prefect.flow_run_id"), name
    assert all("/" not in v for v in _values(Metric).values())


def test_keys_are_built_with_the_one_separator():
    assert key("vton.", "stage_status", "train") == "vton.stage_status.train"
    assert stage_status_tag("train") == "vton.stage_status.train"
    assert ledger_tag(7) == "vton.ledger.000007"
    assert metric_key(Metric.EVAL_CHAMPION, "overall", "ssim") == "eval.champion.overall.ssim"


def _spelt_out(node: ast.AST | None) -> bool:
    """A key written as text at the call: a string, an f-string or a string concatenation."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.BinOp) and (_spelt_out(node.left) or _spelt_out(node.right))


def _mapping_keys(node: ast.AST) -> list[ast.AST]:
    """The keys of a dict display, dict comprehension or `a | b` of them (through `**` unpacking)."""
    if isinstance(node, ast.Dict):
        out = []
        for k, v in zip(node.keys, node.values):
            out += _mapping_keys(v) if k is None else [k]
        return out
    if isinstance(node, ast.DictComp):
        return [node.key]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _mapping_keys(node.left) + _mapping_keys(node.right)
    return []


def literal_tracking_keys(source: str) -> list[int]:
    """Lines where a set_tag / set_tags / log_metric(s) / log_param(s) / model tag call spells its key as text."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        keys: list[ast.AST | None] = []
        if name in KEY_ARG:
            client, fluent = KEY_ARG[name]
            index = client if len(node.args) > fluent + 2 else fluent  # client calls lead with the run id
            keys.append(node.args[index] if len(node.args) > index else None)
            keys += [kw.value for kw in node.keywords if kw.arg == "key"]
        elif name in MAPPING_CALLS:
            for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                keys += _mapping_keys(arg)
        if any(_spelt_out(k) for k in keys):
            lines.append(node.lineno)
    return lines


def test_no_tracking_call_spells_a_key_that_is_not_a_contract_name():
    found = []
    for folder in SCANNED:
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "contract.py":
                continue
            found += [f"{path.relative_to(REPO)}:{n}" for n in literal_tracking_keys(path.read_text())]
    assert found == []


def test_the_key_scan_catches_every_way_of_spelling_a_key_at_the_call():
    spelt = """
mlflow.set_tag("vton.x", v)
client.set_tag(run_id, "vton.x", v)
client.log_metric(run_id, f"train.{k}", 1.0)
mlflow.log_metrics({"train/loss": 1.0})
mlflow.log_params({f"train.{k}": v for k, v in d.items()} | {"train.a": 1})
mlflow.set_tags({**{"vton.y": 1}})
client.set_model_version_tag(name, version, "vton.eval.report", uri)
mlflow.log_metric("eval." + k, 1.0)
"""
    named = """
mlflow.set_tag(Tag.X, "passed")
client.set_tag(run_id, Tag.X, "passed")
client.log_metric(run_id, metric_key(Metric.TRAIN, k), 1.0)
mlflow.log_metrics({metric_key(Metric.TRAIN, k): v for k, v in d.items()})
mlflow.set_tags({**lineage, Tag.Y: "1"})
client.set_model_version_tag(name, version, Tag.EVAL_REPORT, "runs:/x")
"""
    assert literal_tracking_keys(spelt) == list(range(2, 10))
    assert literal_tracking_keys(named) == []
