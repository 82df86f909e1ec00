"""The project's shape: every pipeline step is `components/<step>/.../cli.py` (thin: parse, load params, call, print
the summary) over `stage.py`, whose one `run(params, ...)` returns a `<Step>Result` dataclass with `summary()`;
and imports run one way (cli -> flows -> steps -> core)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import textwrap
import typing
from pathlib import Path

import pytest
import typer.main

from components.cli import app
from components.stage.dvc import Dvc

REPO = Path(__file__).resolve().parents[1]
COMPONENTS = REPO / "components"

# Every dvc.yaml stage's command, plus promotion (the retrain flow's last task, not a DVC stage).
STEP_COMMANDS = sorted({tuple(spec.cmd.split()[1:]) for spec in Dvc(REPO).stages().values()} | {("registry", "promote")})


def _callback(argv: tuple[str, ...]):
    command = typer.main.get_command(app)
    for word in argv:
        if word.startswith("-"):
            break
        command = command.commands[word]
    return inspect.unwrap(command.callback)


def _stage_module(callback) -> str:
    """The one `components....stage` module the command imports `run` from."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(callback)))
    found = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
             and n.module.endswith(".stage") and any(a.name == "run" for a in n.names)]
    assert len(found) == 1, f"{callback.__qualname__} imports `run` from {found}: expected one stage module"
    return found[0]


def test_every_dvc_stage_command_is_listed():
    assert ("annotate",) in STEP_COMMANDS and ("data", "import") in STEP_COMMANDS and len(STEP_COMMANDS) >= 8


@pytest.mark.parametrize("argv", STEP_COMMANDS, ids=" ".join)
def test_a_step_command_is_a_thin_cli_over_its_stage_run_returning_a_result_with_a_summary(argv):
    callback = _callback(argv)
    module = _stage_module(callback)
    parts = module.split(".")
    assert parts[0] == "components" and parts[-1] == "stage", module
    # Found from the CLI name in one guess: `vton data import` -> components/data/importers/stage.py.
    packages = parts[1:-1]
    assert 1 <= len(packages) <= len(argv) and all(p.startswith(w) for p, w in zip(packages, argv)), (argv, module)
    assert callback.__module__.rsplit(".", 1)[-1] == "cli", callback.__module__

    run = importlib.import_module(module).run
    params = list(inspect.signature(run).parameters)
    assert params[:2] == ["params", "root"], f"{module}.run{inspect.signature(run)}"
    result = typing.get_type_hints(run)["return"]
    assert dataclasses.is_dataclass(result) and result.__name__.endswith("Result"), result
    assert typing.get_type_hints(result.summary)["return"] is str, result
    source = inspect.getsource(callback)
    assert ".summary()" in source, f"{callback.__qualname__} does not print its result's summary"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, those inside functions included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


PY_FILES = sorted(COMPONENTS.rglob("*.py"))


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_components_never_import_flows_or_prefect():
    # components/cli.py is the CLI layer: the one place that reaches into flows/ (vton retrain, vton schedule).
    bad = [f"{_rel(f)}:{line}: {m}" for f in PY_FILES if _rel(f) != "components/cli.py"
           for line, m in _imports(f) if _under(m, ("flows", "prefect"))]
    assert bad == []


CORE = ("components.manifest", "components.errors", "components.hashing")


def test_the_core_imports_no_step():
    core_files = [f for f in PY_FILES if _under(".".join(f.relative_to(REPO).with_suffix("").parts), CORE)]
    assert len(core_files) >= 5
    bad = [f"{_rel(f)}:{line}: {m}" for f in core_files for line, m in _imports(f)
           if m.startswith("components.") and not _under(m, CORE)]
    assert bad == []


def test_only_clis_and_stage_shells_use_the_aggregate_params():
    # components/params.py sits above the steps: a step's own modules get their section, never the whole.
    allowed = {"cli.py", "stage.py"}
    bad = [f"{_rel(f)}:{line}" for f in PY_FILES if f.name not in allowed and _rel(f) != "components/params.py"
           for line, m in _imports(f) if _under(m, ("components.params",))]
    assert bad == []


def test_stage_shells_are_imported_only_by_clis():
    stage_modules = {".".join(f.relative_to(REPO).with_suffix("").parts) for f in PY_FILES if f.name == "stage.py"}
    bad = [f"{_rel(f)}:{line}: {m}" for f in PY_FILES if f.name != "cli.py"
           for line, m in _imports(f) if m in stage_modules or m.rpartition(".")[0] in stage_modules]
    assert bad == []
