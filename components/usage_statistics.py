"""Usage statistics and update checks off by default: each library this pipeline drives that calls its vendor
(usage reports; albumentations asks PyPI for a newer version on every import) is told not to, unless the
environment already says otherwise (set one to opt back in).

An offline pipeline gains nothing from these calls (its versions are pinned), and on a machine without internet
each one is a network call that can only fail or wait for its timeout. Applied when `components` is imported,
so it holds in every process that runs a step (the CLI, a Prefect worker's flow run, a Ray worker) before any of
these libraries reads its switch.
"""

from __future__ import annotations

import os

# environment variable -> the value that turns the report off
SWITCHES = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "NO_ALBUMENTATIONS_UPDATE": "1",
}


def opt_out(environ: dict[str, str] | None = None) -> None:
    """Set each switch in `environ` (default: this process's environment) that is not set already."""
    target = os.environ if environ is None else environ
    for name, off in SWITCHES.items():
        target.setdefault(name, off)
