"""Every command's exit status: 0 done, 2 a usage or user error (one `error:` line, no
traceback), 130 interrupted (one `interrupted` line, even while briskml is still importing torch);
any other exception is a bug and keeps its traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import briskml
import briskml.cli.collab
from briskml.cli import main
from briskml.cli.demo import planned_plots
from tests.cli.conftest import ADULT, CliResult, run_cli, user_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Files:
    """Inputs for the error cases, in the test's folder."""

    folder: Path
    missing: Path        # does not exist
    not_a_model: Path    # a .brisk file that is not safetensors
    nan_ratings: Path    # ratings with a missing rating
    texts: Path          # a few labelled texts
    out: Path            # a model file to write (not there yet)


@pytest.fixture
def files(tmp_path) -> Files:
    not_a_model = tmp_path / "model.brisk"
    not_a_model.write_text("not a model")
    nan_ratings = tmp_path / "ratings.csv"
    pd.DataFrame({"user": [1, 1, 2, 2], "item": [10, 11, 10, 11],
                  "rating": [4.0, None, 3.0, 5.0]}).to_csv(nan_ratings, index=False)
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["good film", "bad film"] * 4, "label": ["pos", "neg"] * 4}).to_csv(
        texts, index=False)
    return Files(tmp_path, tmp_path / "missing.csv", not_a_model, nan_ratings, texts,
                 tmp_path / "out.brisk")


Args = Callable[[Files], list[str | Path]]

# Each command, and a data or file error it must report in one line.
USER_ERRORS: dict[str, tuple[list[str], Args, str]] = {
    "tabular train": (["tabular", "train"], lambda f: [ADULT, "--y", "salry", "--out", f.out],
                      "Column 'salry'"),
    "collab train": (["collab", "train"], lambda f: [f.nan_ratings, "--out", f.out],
                     "1 missing rating"),
    "collab recommend": (["collab", "recommend"], lambda f: [f.not_a_model, "--user", "1"],
                         "is not a briskml file"),
    "text pretrain": (["text", "pretrain"], lambda f: [f.missing, "--out", f.out],
                      "No such file or folder"),
    "text lm": (["text", "lm"], lambda f: [f.missing, "--out", f.out], "No such file"),
    "text classify": (["text", "classify"], lambda f: [f.texts, "--label-col", "lable",
                                                         "--out", f.out], "'lable'"),
    "text generate": (["text", "generate"], lambda f: [f.not_a_model, "once upon"],
                      "is not a briskml file"),
    "lr-find tabular": (["lr-find", "tabular"], lambda f: [f.missing, "--y", "a"],
                        "No such file"),
    "lr-find collab": (["lr-find", "collab"], lambda f: [f.nan_ratings], "1 missing rating"),
    "lr-find text-lm": (["lr-find", "text-lm"], lambda f: [f.missing], "No such file"),
    "lr-find text-classify": (["lr-find", "text-classify"],
                              lambda f: [f.missing, "--label-col", "label"], "No such file"),
    "predict": (["predict"], lambda f: [f.not_a_model, f.nan_ratings], "is not a briskml file"),
    "info": (["info"], lambda f: [f.not_a_model], "is not a briskml file"),
    "datasets path": (["datasets", "path"], lambda f: ["no-such-set"], "No dataset called"),
    "datasets fetch": (["datasets", "fetch"], lambda f: ["no-such-set"], "No dataset called"),
    "demo": (["demo"], lambda f: ["--out", f.folder], "already exists"),
}
COMMANDS = [*USER_ERRORS, "datasets list"]


def _command(name: str) -> list[str]:
    return USER_ERRORS[name][0] if name in USER_ERRORS else name.split()


def assert_one_error_line(result: CliResult, message: str) -> None:
    """Status 2, and stderr ends with the one `error:` line: no traceback, no second error."""
    assert result.code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.endswith(errors[0] + "\n"), result.stderr
    assert message in errors[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", COMMANDS)
def test_a_usage_error_exits_2_with_one_error_line(name):
    assert_one_error_line(run_cli(*_command(name), "--bogus-option"), "No such option")


@pytest.mark.parametrize("name", USER_ERRORS)
def test_a_data_or_file_error_exits_2_with_one_error_line(name, files):
    command, args, message = USER_ERRORS[name]
    if name == "demo":   # a plot from an earlier run is there: replaced only with --force
        planned_plots(files.folder)[0].write_bytes(b"png")
    assert_one_error_line(run_cli(*command, *args(files)), message)


@pytest.mark.parametrize("command", [
    ["tabular", "train", ADULT, "--y", "salary", "--out", "{out}"],
    ["collab", "train", "{ratings}", "--out", "{out}"],
    ["text", "classify", "{texts}", "--label-col", "label", "--out", "{out}"],
], ids=lambda command: " ".join(command[:2]))
def test_a_ctrl_c_in_a_command_exits_130_with_one_line(command, files, monkeypatch):
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pd, "read_csv", interrupt)
    values = {"out": files.out, "ratings": files.nan_ratings, "texts": files.texts}
    result = run_cli(*(str(arg).format(**values) for arg in command))
    assert (result.code, result.stderr) == (130, "interrupted\n")
    assert not files.out.exists()


def test_an_unexpected_exception_is_a_bug_and_keeps_its_traceback(files, monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in briskml")

    monkeypatch.setattr(briskml.cli.collab, "collab_learner", broken)
    ratings = files.folder / "good.csv"
    pd.DataFrame({"user": [1, 1, 2, 2], "item": [10, 11, 10, 11],
                  "rating": [4.0, 2.0, 3.0, 5.0]}).to_csv(ratings, index=False)
    with pytest.raises(RuntimeError, match="a bug in briskml"):   # Python prints it, status 1
        main(["collab", "train", str(ratings), "--out", str(files.out)])


def _console_script() -> tuple[str, str]:
    """The module and function pyproject.toml names for the `briskml` console script."""
    tomllib = pytest.importorskip("tomllib")   # Python 3.11+
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["briskml"].split(":")
    return module, function


# Holds the import of torch (the slow part of starting briskml) until the test sends Ctrl-C.
SLOW_TORCH = """
import signal, sys, time

# Ctrl-C as in a terminal, even when the test runner was started in the background (a
# non-interactive shell's `&` makes its children ignore SIGINT, and Python keeps that).
signal.signal(signal.SIGINT, signal.default_int_handler)

class SlowTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            print("importing torch", file=sys.stderr, flush=True)
            time.sleep(120)
        return None

sys.meta_path.insert(0, SlowTorch())
"""


def test_a_ctrl_c_while_briskml_is_still_importing_exits_130_without_a_traceback(tmp_path):
    module, function = _console_script()
    # What pip's `briskml` script runs, with torch's import held open for the Ctrl-C.
    script = SLOW_TORCH + f"from {module} import {function}\nsys.exit({function}())\n"
    source = str(Path(briskml.__file__).resolve().parents[1])   # the code this test imported
    env = {**user_env(tmp_path), "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    process = subprocess.Popen([sys.executable, "-c", script, "info", "model.brisk"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = process.stderr.readline()
    assert first == "importing torch\n", first + process.communicate(timeout=60)[1]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (130, "interrupted\n")
