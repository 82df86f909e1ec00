"""Each dvc.yaml stage's code deps cover what its command imports, so a code change re-runs the stages it affects.

The imports are read from the source (the command's function, its module's top-level imports, then every import
of every project module reached, also those inside functions). Modules that shape no output are not deps:
settings schemas (their values are DVC params), messages, paths and progress bars, MLflow logging, registry tags.
Weight fetching is covered by the model catalog: the store verifies each file's sha256 against catalog.yaml.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

import pytest
import typer.main

from components.cli import app
from components.stage.dvc import Dvc

REPO = Path(__file__).resolve().parents[2]

NOT_OUTPUT_SHAPING = re.compile(
    r"components/(__init__|errors|project|progress|processes|cli|hashing|params)\.py$"  # hashing: cache keys; params: dvc.yaml params
    # executors: where shards run, never what they make (the Ray tests prove byte-identical outputs)
    r"|components/(config|tracking|registry|storage|executors)/"
    r"|components/[^/]+/(params|cli)\.py$"
)
WEIGHTS_FETCHING = re.compile(r"components/models/(__init__|store|sources)\.py$")
CATALOG = "components/models/catalog.yaml"
REGISTRY_ENTRY = re.compile(r"^components(\.\w+)+:\w+$")  # e.g. train.families.FAMILIES' values


def _module_file(name: str) -> Path | None:
    path = REPO.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Project modules imported anywhere in `tree` (a module's or a function's AST)."""
    found: set[str] = set()
    package = module if _module_file(module).name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and REGISTRY_ENTRY.match(node.value):
            found.add(node.value.partition(":")[0])  # "module:attribute", imported on demand by a registry
    return {m for m in found if m.startswith("components.") and _module_file(m)}


def _rel(module: str) -> str:
    return _module_file(module).relative_to(REPO).as_posix()


def imported_files(argv: list[str]) -> set[str]:
    """The project files `vton ARGV` can import, stopping at modules that shape no output."""
    command = typer.main.get_command(app)
    for word in argv:
        if word.startswith("-"):
            break
        command = command.commands[word]
    callback = inspect.unwrap(command.callback)
    module = callback.__module__
    top = ast.Module([n for n in ast.parse(_module_file(module).read_text()).body
                      if isinstance(n, (ast.Import, ast.ImportFrom))], [])
    todo = list(_imports(ast.parse(textwrap.dedent(inspect.getsource(callback))), module) | _imports(top, module))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(2, len(parts))]  # parent packages' __init__ runs too
        if not NOT_OUTPUT_SHAPING.search(_rel(name)):
            todo += _imports(ast.parse(_module_file(name).read_text()), name)
    return {_rel(m) for m in seen}


def _docstring_only(rel: str) -> bool:
    return all(isinstance(n, ast.Expr) for n in ast.parse((REPO / rel).read_text()).body)


STAGES = Dvc(REPO).stages()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_depends_on_the_code_its_command_imports(stage):
    spec = STAGES[stage]
    assert spec.cmd.startswith("vton "), f"{stage}: the command is not a `vton` step"
    files = imported_files(spec.cmd.split()[1:])

    def covered(rel: str) -> bool:
        return any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in spec.deps)

    missing = sorted(f for f in files if not covered(f) and not NOT_OUTPUT_SHAPING.search(f)
                     and not WEIGHTS_FETCHING.search(f) and not _docstring_only(f))
    assert missing == [], f"dvc.yaml stage {stage!r} imports {missing} without depending on them"
    if any(WEIGHTS_FETCHING.search(f) for f in files):
        assert covered(CATALOG), f"{stage!r} loads weights from the model store: it must depend on {CATALOG}"


def test_the_import_reader_sees_function_level_imports():
    """The check itself: `vton evaluate` imports the trainer's inference pipeline inside functions."""
    assert "components/train/inference.py" in imported_files(["evaluate"])
