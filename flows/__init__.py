"""Prefect flows: orchestration only. They drive the DVC stages whose code lives in components/."""

from flows import fork_safety

fork_safety.install()  # cheap: imports nothing; acts only in children forked after Prefect was imported
