"""The Great Expectations suites of the gate, as code: each module lists (table, expectation) pairs whose
`meta["rule"]` names the rule they prove. Thresholds come from params, so the suites are versioned here
and tuned per profile in params.yaml; `suite_documents` renders them as GX JSON for the report and MLflow.
"""

from __future__ import annotations

import gc

from components.validate.params import ValidateParams

# Importing Great Expectations builds thousands of classes; the cyclic collector would rescan them over and over
# while they are made (about 0.4 CPU s of a 3 s import). Nothing it builds is garbage, so collect once after.
_gc_was_enabled = gc.isenabled()
gc.disable()
try:
    from components.validate.suites import completeness, distribution, geometry, integrity
finally:
    if _gc_was_enabled:
        gc.enable()

MODULES = {"completeness": completeness, "geometry": geometry, "distribution": distribution, "integrity": integrity}


def planned_expectations(params: ValidateParams) -> list[tuple[str, str, object]]:
    """(suite, table, expectation) for every rule whose severity is not `off`."""
    planned = []
    for suite, module in MODULES.items():
        for table, exp in module.expectations(params):
            if params.severity_of(exp.meta["rule"]) != "off":
                planned.append((suite, table, exp))
    return planned


def suite_documents(params: ValidateParams) -> dict[str, list[dict]]:
    """Each suite's expectations as GX JSON-able dicts (type, kwargs, meta), grouped by suite name."""
    docs: dict[str, list[dict]] = {name: [] for name in MODULES}
    for suite, table, exp in planned_expectations(params):
        cfg = exp.configuration.to_json_dict()
        docs[suite].append({"table": table, **{k: cfg[k] for k in ("type", "kwargs", "meta") if k in cfg}})
    return docs
