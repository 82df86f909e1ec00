import subprocess
import sys

import pytest

from components.cli import STEP_CLIS, app


def _vton(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "components.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_vton_help_lists_every_registered_step():
    out = _vton("--help")
    assert out.returncode == 0
    assert "retrain" in out.stdout and "data" in out.stdout


def _commands(typer_app, prefix=()):
    import typer.main

    group = typer.main.get_command(typer_app)
    stack = [(prefix, group)]
    while stack:
        path, cmd = stack.pop()
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append(((*path, name), sub))


@pytest.mark.parametrize("path", sorted(_commands(app)))
def test_every_command_has_help_text(path):
    import typer.main
    from click.testing import CliRunner

    result = CliRunner().invoke(typer.main.get_command(app), [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    assert (cmd.help or "").strip(), f"`vton {' '.join(path)}` has no help text"


def test_bad_params_print_one_clear_error_and_exit_2(tmp_path):
    (tmp_path / "params.yaml").write_text("profile: smoke\nimport:\n  min_side: -3\n")
    out = _vton("data", "import", cwd=tmp_path)
    assert out.returncode == 2
    assert "error: params.yaml: import.min_side must be > 0, got -3" in out.stderr
    assert "Traceback" not in out.stderr


def test_step_cli_modules_all_define_register():
    import importlib

    for module in STEP_CLIS:
        assert callable(importlib.import_module(module).register), module
