"""Errors a user can act on: each carries the fix, and the CLI prints it without a traceback."""

from __future__ import annotations


class VtonError(Exception):
    """A failure the user can fix; `hint` says how."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(VtonError):
    """params.yaml or the environment is invalid."""


class DataContractError(VtonError):
    """A manifest or dataset directory breaks the data contract."""


class MissingWeightsError(VtonError):
    """A model's weights are not in the local model store."""


class GateFailed(VtonError):
    """A quality or promotion gate refused to let the pipeline continue."""

    exit_code = 3


class Quarantine(Exception):
    """Raised for one sample that must be quarantined; `reason` goes into the manifest."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
