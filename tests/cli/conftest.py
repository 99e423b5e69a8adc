"""Running the briskml command in tests: in this process (fast), or as a separate process, as a
user would; and two small models trained once through the command, shared by the tests."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from briskml.cli import main
from briskml.datasets import bundled_path

ADULT = bundled_path("adult_sample.csv.gz")
RATINGS = bundled_path("movielens_sample_ratings.csv.gz")
MOVIES = bundled_path("movielens_sample_movies.csv.gz")
ADULT_CAT = "workclass,education,marital-status,occupation,relationship,race"
ADULT_CONT = "age,fnlwgt,education-num"


@dataclass(frozen=True)
class CliResult:
    """What a run of the command gave: exit status, stdout and stderr."""

    code: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path) -> CliResult:
    """`briskml ARGS` in this process: main() with its output captured and its exit caught."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(arg) for arg in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


def info_lines(model: Path) -> dict[str, str]:
    """`briskml info MODEL` as {label: value}; labels and values are set apart by 2+ spaces."""
    result = run_cli("info", model)
    assert result.code == 0, result.stderr
    pairs = (re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in result.stdout.splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def user_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell: the venv's scripts on PATH, a private cache, and one
    torch thread (the test machine's cores are shared with other jobs)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["BRISKML_CACHE"] = str(tmp_path / "cache")
    env["OMP_NUM_THREADS"] = "1"
    env.pop("BRISKML_MIRROR", None)
    return env


def run_briskml(*args: str | Path, cwd: Path, extra_env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """`python -m briskml ARGS` as a separate process, as a user would run it."""
    env = {**user_env(cwd), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "briskml", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Downloads and datasets go to the test's folder, never to ~/.cache."""
    monkeypatch.setenv("BRISKML_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BRISKML_MIRROR", raising=False)


def train_ok(*args: str | Path) -> None:
    """Run a training command in this process (one torch thread: tests/conftest.py); it must
    succeed."""
    result = run_cli(*args)
    assert result.code == 0, result.stderr


@pytest.fixture(scope="session")
def adult_model(tmp_path_factory) -> Path:
    """The lesson's tabular model on the bundled Adult sample, one epoch, via the command."""
    path = tmp_path_factory.mktemp("adult") / "adult.brisk"
    train_ok("tabular", "train", ADULT, "--y", "salary", "--cat", ADULT_CAT, "--cont",
             ADULT_CONT, "--epochs", "1", "--seed", "0", "--out", path)
    return path


@pytest.fixture(scope="session")
def movies_model(tmp_path_factory) -> Path:
    """A dot-product model on the bundled MovieLens sample with titles, via the command."""
    path = tmp_path_factory.mktemp("movies") / "movies.brisk"
    train_ok("collab", "train", RATINGS, "--titles", MOVIES, "--y-range", "0", "5.5",
             "--epochs", "1", "--bs", "1024", "--lr", "1e-2", "--seed", "0", "--out", path)
    return path
