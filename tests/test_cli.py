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


def _no_traceback(out) -> str:
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    (line,) = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    return line


def test_a_truncated_manifest_is_named_with_the_fix_not_a_traceback(tmp_path):
    (tmp_path / "params.yaml").write_text("profile: smoke\n")
    data = tmp_path / "data" / "augmented"
    data.mkdir(parents=True)
    (data / "manifest.parquet").write_bytes(b"PAR1\x00\x01truncated")
    out = _vton("validate", "--manifest", str(data), cwd=tmp_path)
    assert out.returncode == 2
    assert "manifest.parquet: not a readable Parquet manifest" in _no_traceback(out)
    assert "fix: re-run the stage that writes it" in out.stderr


def test_an_unwritable_reports_folder_is_named_with_the_fix_not_a_traceback(tmp_path):
    from components.cli import user_error

    # Root ignores permission bits, so the real command meets the other way a folder cannot take files: a file.
    (tmp_path / "params.yaml").write_text("profile: smoke\nvalidate:\n  completeness:\n    decode_sample: 0\n")
    (tmp_path / "reports").write_text("not a folder")
    from components.manifest.schema import write_manifest
    from tests.validate.factory import clean_dataset

    write_manifest(clean_dataset(tmp_path / "data" / "augmented"), tmp_path / "data" / "augmented")
    out = _vton("validate", cwd=tmp_path)
    assert out.returncode == 2
    line = _no_traceback(out)
    assert line.startswith(f"error: {tmp_path / 'reports'}") and "Not a directory" in line
    denied = user_error(PermissionError(13, "Permission denied", "/srv/reports/validate/report.html"))
    assert str(denied).startswith("/srv/reports/validate/report.html: Permission denied\n  fix: make that folder")
