"""The promotion ledger: every alias move and review decision, appended as registered-model tags.

Entry n is the tag `vton.ledger.<n:06d>` (JSON) on the registered model, so the history travels with the
registry itself; after each append the whole ledger is also logged as `registry/ledger.json` to the run
that caused it. Appends happen only under the registry lock, so sequence numbers never collide.
"""

from __future__ import annotations

import getpass
import json
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from components.tracking.contract import Tag, ledger_tag

LEDGER_PREFIX = Tag.LEDGER_PREFIX + "."


def now_iso() -> str:
    """UTC now, ISO-8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def actor() -> str:
    """Who is running this process (user@host), recorded beside the gate or reviewer name."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class LedgerEntry:
    """One recorded decision: which alias moved from which version to which, by whom, on what evidence."""

    action: str  # challenger | promote | approve | reject | rollback
    alias: str | None
    from_version: str | None
    to_version: str | None
    by: str  # a reviewer's name, or `gate:<command>` for automatic moves
    evidence: dict = field(default_factory=dict)
    rollback_target: str | None = None  # where `vton registry rollback` would send the alias back to
    note: str = ""
    at: str = field(default_factory=now_iso)
    actor: str = field(default_factory=actor)
    seq: int = 0

    def to_json(self) -> str:
        """Compact JSON for the tag value."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


def read_ledger(client, name: str) -> list[LedgerEntry]:
    """Every entry of `name`'s ledger, oldest first."""
    tags = client.get_registered_model(name).tags or {}
    entries = [LedgerEntry(**json.loads(v)) for k, v in tags.items() if k.startswith(LEDGER_PREFIX)]
    return sorted(entries, key=lambda e: e.seq)


def append_entry(client, name: str, entry: LedgerEntry) -> LedgerEntry:
    """Append `entry` with the next sequence number (call only while holding the registry lock)."""
    existing = read_ledger(client, name)
    entry.seq = (existing[-1].seq if existing else 0) + 1
    client.set_registered_model_tag(name, ledger_tag(entry.seq), entry.to_json())
    return entry


def log_ledger_artifact(client, name: str, run_id: str) -> None:
    """Log the whole ledger as `registry/ledger.json` to run `run_id`."""
    entries = [asdict(e) for e in read_ledger(client, name)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.json"
        path.write_text(json.dumps({"registered_model": name, "entries": entries}, indent=2) + "\n")
        client.log_artifact(run_id, str(path), artifact_path="registry")
