"""`briskml demo`: every application on the bundled samples, plots kept unless --force."""

from __future__ import annotations

import re

from tests.cli.conftest import run_cli


def test_quick_demo_trains_every_application_and_writes_plots(tmp_path):
    result = run_cli("demo", "--quick", "--out", tmp_path)
    assert result.code == 0, result.stderr
    assert "train_loss" in result.stdout and "accuracy" in result.stdout
    assert "rmse" in result.stdout and "total (with data preparation)" in result.stdout
    for prefix in ("tabular", "collab", "text"):
        assert (tmp_path / f"{prefix}_lr_find.png").is_file()
        assert (tmp_path / f"{prefix}_loss.png").is_file()
    text_accuracy = re.search(r"^text: ULMFiT.*accuracy=([0-9.]+)", result.stdout, re.MULTILINE)
    assert text_accuracy is not None and float(text_accuracy.group(1)) > 0.65  # chance: 0.5


def test_existing_plots_are_kept_unless_forced(tmp_path):
    (tmp_path / "collab_loss.png").write_text("my plot")
    result = run_cli("demo", "--quick", "--out", tmp_path)
    assert result.code == 2 and result.stdout == ""  # refused before training
    assert "collab_loss.png' already exists; pass --force" in result.stderr
    assert (tmp_path / "collab_loss.png").read_text() == "my plot"
