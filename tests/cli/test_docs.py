"""The command-line docs run as written: their ```bash blocks, in order, in one bash session, in
a fresh folder, as a user would type them (README's "Command line" section)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import user_env

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def cli_docs() -> str:
    """The README's "## Command line" section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## Command line")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def test_the_docs_show_every_command():
    text = cli_docs()
    for command in ("tabular train", "lr-find tabular", "collab train", "collab recommend",
                    "lr-find collab", "text pretrain", "text lm", "text classify",
                    "text generate", "lr-find text-lm", "lr-find text-classify", "predict",
                    "info", "datasets list", "datasets path", "datasets fetch", "demo"):
        assert f"briskml {command}" in text, command
    assert len(bash_blocks(text)) >= 3


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.skipif(not (Path(sys.executable).parent / "briskml").exists(),
                    reason="the briskml script is not installed beside this Python")
def test_the_docs_shell_examples_run(tmp_path):
    script = "set -euo pipefail\n" + "\n".join(bash_blocks(cli_docs()))
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=user_env(tmp_path),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for written in ("tabular_lr_find.png", "adult.brisk", "adult_predictions.csv",
                    "collab_lr_find.png", "movies.brisk", "adult_predictions_stdout.csv",
                    "general_lm.brisk", "reviews_lm.brisk", "reviews.brisk",
                    "review_predictions.csv"):
        assert (tmp_path / written).is_file(), written
    assert result.stdout.count("valley") == 2 and "TabularModel" in result.stdout
    assert "num_ratings" in result.stdout  # collab recommend's table
    assert "The film was" in result.stdout and "2: negative, positive" in result.stdout
    reviews = pd.read_csv(tmp_path / "review_predictions.csv")
    assert len(reviews) == 400 and "probability_positive" in reviews.columns
    in_one_go = pd.read_csv(tmp_path / "adult_predictions.csv")
    in_chunks = pd.read_csv(tmp_path / "adult_predictions_stdout.csv")
    pd.testing.assert_frame_equal(in_chunks, in_one_go)
    assert len(in_one_go) == 5000 and "probability_>=50k" in in_one_go.columns
