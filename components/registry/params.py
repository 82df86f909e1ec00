"""params.yaml sections for promotion (registry gates) and scheduled retraining."""

from __future__ import annotations

from pydantic import Field

from components.config.base import Section


class PromoteParams(Section):
    """Gates a challenger must pass before it becomes champion."""

    require_approval: bool = False


class ScheduleParams(Section):
    """The retrain deployment's schedule."""

    cron: str = "0 3 * * 1"
    timezone: str = "UTC"
    deployment_name: str = Field(default="weekly-retrain")
