"""Usage statistics are off by default in every process that imports components, and a user's setting wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from components.usage_statistics import SWITCHES, opt_out
from tests.conftest import REPO

# Variables MLflow reads as "CI or a test run" and then never reports anyway: left out of the child's
# environment so the child shows what a user's shell gets.
_CI_MARKERS = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "JENKINS_URL", "TRAVIS",
               "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE", "TEAMCITY_VERSION")


def _child(code: str, **env: str) -> str:
    """stdout of `code` in a fresh interpreter whose environment has none of the switches (plus `env`)."""
    base = {k: v for k, v in os.environ.items() if k not in SWITCHES and k not in _CI_MARKERS}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**base, "PYTHONPATH": str(REPO), **env},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_opt_out_sets_every_switch_that_is_unset_and_keeps_the_rest():
    environ = {"DVC_NO_ANALYTICS": "0"}
    opt_out(environ)
    assert environ == {**SWITCHES, "DVC_NO_ANALYTICS": "0"}


def test_importing_components_turns_every_report_off_unless_the_user_set_it():
    code = f"import json, os, components; print(json.dumps({{k: os.environ.get(k) for k in {list(SWITCHES)!r}}}))"
    assert json.loads(_child(code)) == SWITCHES
    assert json.loads(_child(code, MLFLOW_DISABLE_TELEMETRY="false"))["MLFLOW_DISABLE_TELEMETRY"] == "false"


def test_mlflow_starts_no_telemetry_client_after_components_unless_opted_in():
    code = ("import components, mlflow; from mlflow.telemetry.client import get_telemetry_client; "
            "print(get_telemetry_client() is not None)")
    assert _child(code) == "False"
    assert _child(code, MLFLOW_DISABLE_TELEMETRY="false") == "True"  # the same child reports when opted back in
