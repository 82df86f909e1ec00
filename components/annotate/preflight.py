"""Fail before any work when the selected annotators' weights are not in the model store, naming every file."""

from __future__ import annotations

from components.errors import MissingWeightsError


def missing_weights(settings) -> list[str]:
    """One line per catalogued weights file the selected backends need but the store lacks (empty when none)."""
    from components.annotate.annotators import annotator_class, backends_for
    from components.models.store import Catalog, local_path

    catalog = Catalog.load()
    lines = []
    for role, backend in backends_for(settings):
        for name in annotator_class(role, backend).weights:
            entry = catalog.get(name)
            if entry.scheme == "package":
                continue  # shipped inside an installed package; the annotator checks its bytes itself
            path = local_path(entry)
            if not path.is_file():
                origin = (f"made by `vton models export-onnx {entry.exported_from}`" if entry.exported_from
                          else f"source {entry.source}")
                lines.append(f"{entry.filename} ({name}, for annotate.{role}={backend}): expected at {path}, {origin}")
    return lines


def check_weights(settings) -> None:
    """Raise MissingWeightsError listing every missing weights file for these annotate params; else return."""
    from components.annotate.annotators import default_backends

    lines = missing_weights(settings)
    offline = ", ".join(f"{field}: {backend}" for field, backend in default_backends().items())
    if lines:
        raise MissingWeightsError(
            "annotate: weights missing from the model store:\n  - " + "\n  - ".join(lines),
            hint="run `vton models pull <name>` for each (or copy the files to the paths shown), "
            f"or pick the offline backends ({offline})",
        )
