"""`vton data import`: read a source layout into candidate pairs, then ingest them into the canonical dataset."""

from components.data.importers.ingest import Candidate, ImportReport, import_sources, ingest_candidates

__all__ = ["Candidate", "ImportReport", "import_sources", "ingest_candidates"]
