"""`dvc status` of the retrain's stages after the always-changed ones (scrape), asked by the no-op check.

`vton retrain` asks DVC once whether the stages after the always-changed ones have anything to do; on an
unchanged pipeline that answer, with scrape's own run, makes the whole retrain a no-op (flows/no_op.py). The
answer is used only when it still describes the workspace after scrape ran: params.yaml, data.dvc and every
dvc.lock entry are as they were when DVC was asked, except what the always-changed stages record about their
own run, and their outputs are unchanged (then nothing those stages' dependents read has moved).

This module imports neither Prefect nor MLflow: it runs before them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.stage.dvc import Dvc, DvcFailed, PendingStatus
from components.yaml_text import parse_yaml

_SNAPSHOT_FILES = ("params.yaml", "data.dvc")


def status_targets(chain: list[str], volatile: set[str]) -> list[str]:
    """The stages whose status one `dvc status` answers for: those after the last always-changed one."""
    after = 1 + max((i for i, s in enumerate(chain) if s in volatile), default=-1)
    return list(chain[after:])


def workspace_state(root: Path, volatile: set[str]) -> str:
    """A digest of what the answer depends on besides code and data: params.yaml, data.dvc and dvc.lock, with the
    always-changed stages' entries reduced to their outputs (their deps and params are re-recorded every run)."""
    digest = hashlib.sha256()
    for name in _SNAPSHOT_FILES:
        path = root / name
        digest.update(path.read_bytes() if path.is_file() else b"-")
    lock = root / "dvc.lock"
    try:
        stages = (parse_yaml(lock.read_text()) or {}).get("stages", {}) if lock.is_file() else {}
    except (OSError, yaml.YAMLError):
        stages = {"unreadable": True}
    reduced = {name: ({"outs": entry.get("outs")} if name in volatile and isinstance(entry, dict) else entry)
               for name, entry in stages.items()}
    digest.update(json.dumps(reduced, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@dataclass
class EarlyStatus:
    """One `dvc status` of `targets` running in the background, and the workspace state it was asked in."""

    root: Path
    targets: list[str]
    volatile: set[str]
    state: str
    pending: PendingStatus

    def wait(self) -> None:
        """Let DVC finish (before any other DVC command in the project: DVC allows one at a time)."""
        self.pending.wait()

    def up_to_date(self, root: Path, targets: list[str]) -> set[str] | None:
        """`targets` when DVC said they are all up to date and the workspace still is as it was then; an empty set
        when DVC said something changed; None when its answer does not apply (the flow asks DVC again)."""
        try:
            answer = self.pending.result()
        except (DvcFailed, ValueError):
            return None
        if Path(root).resolve() != self.root or list(targets) != self.targets:
            return None
        if workspace_state(self.root, self.volatile) != self.state:
            return None
        return set(targets) if answer == {} else set()


def start(root: Path, chain: list[str]) -> EarlyStatus | None:
    """Start `dvc status` of the stages after the always-changed ones of `chain` (None when there are none)."""
    root = Path(root).resolve()
    dvc = Dvc(root)
    volatile = dvc.always_changed()
    targets = status_targets(chain, volatile)
    if not targets:
        return None
    return EarlyStatus(root, targets, volatile, workspace_state(root, volatile), dvc.start_status(*targets))


def retrain_settings(root: Path, profile: str | None, stages: list[str] | None) -> tuple[str, dict, list[str]]:
    """(profile name, merged params, stage chain) of the retrain `vton retrain` will run, with `profile` made active
    in params.yaml first, as the flow does (DVC must see it): the chain is `stages`, else flow.stages."""
    from components.config.loader import read_params_file, set_active_profile, with_profile

    if profile:
        set_active_profile(root / "params.yaml", profile)
    name, merged = with_profile(read_params_file(root / "params.yaml"))
    chain = stages or (merged.get("flow") or {}).get("stages")
    return name, merged, [str(s) for s in chain] if isinstance(chain, list) else []
