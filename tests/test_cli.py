"""The briskml command, driven as a user would, writing into tmp_path."""

import subprocess
import sys

from typer.testing import CliRunner

from briskml.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output


def test_demo_help_shows_an_example():
    result = runner.invoke(app, ["demo", "--help"])
    assert result.exit_code == 0 and "briskml demo --quick" in result.output


def test_quick_demo_trains_every_application_and_writes_plots(tmp_path):
    result = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "train_loss" in result.output and "accuracy" in result.output and "rmse" in result.output
    for prefix in ("tabular", "collab"):
        assert (tmp_path / f"{prefix}_lr_find.png").is_file()
        assert (tmp_path / f"{prefix}_loss.png").is_file()
    assert "total (with data preparation)" in result.output


def test_unknown_option_exits_with_status_2():
    result = subprocess.run([sys.executable, "-m", "briskml", "demo", "--bogus"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "No such option" in result.stderr and "Traceback" not in result.stderr
