"""The tracking contract: every tag and metric key is named once, with one separator, and used by name."""

from __future__ import annotations

import re
from pathlib import Path

from components.tracking.contract import Metric, Tag, key, ledger_tag, metric_key, stage_status_tag

REPO = Path(__file__).resolve().parents[2]
# Where the contract is already the only spelling (train, evaluate and annotate migrate later).
MIGRATED = ("flows", "components/stage", "components/tracking", "components/registry", "components/validate")
LITERAL = re.compile(r"""["']vton\.[a-z_]+[."']|["']prefect\.flow_run_id"""
                     r"""|["'](eval|validate|data_diff)\.[a-z_]+["']|["']train/""")


def _values(cls: type) -> dict[str, str]:
    return {k: v for k, v in vars(cls).items() if k.isupper()}


def test_no_tag_or_metric_key_is_spelt_outside_the_contract():
    found = []
    for folder in MIGRATED:
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "contract.py":
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
