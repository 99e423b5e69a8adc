"""`briskml tabular train` and `briskml lr-find tabular`, driven as a user would (in-process)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import briskml as bm
from briskml.cli.tabular import TabularOptions, build_learner
from briskml.errors import DataError
from briskml.tabular import TabularData
from tests.cli.conftest import ADULT, ADULT_CAT, ADULT_CONT, info_lines, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"


def people(num_rows: int = 300) -> pd.DataFrame:
    """A small table: two categories, two numbers, a class target and a validation flag."""
    rng = np.random.default_rng(0)
    city = rng.choice(["Lyon", "Paris", "Nice"], num_rows)
    age = rng.integers(18, 80, num_rows)
    income = rng.lognormal(10, 0.5, num_rows).round(2)
    bought = np.where((city == "Paris") | (age > 60), "yes", "no")
    return pd.DataFrame({"city": city, "member": rng.random(num_rows) < 0.4, "age": age,
                         "income": income, "bought": bought,
                         "is_valid": np.arange(num_rows) % 5 == 0})


def options(data, **changes) -> TabularOptions:
    settings = {"data": data, "y": ["bought"], "cat": None, "cont": None, "valid_pct": None,
                "valid_col": None, "layers": "20,10", "bs": 64, "wd": None, "seed": 0,
                "y_block": None, "device": "cpu"}
    return TabularOptions(**{**settings, **changes})


def test_train_makes_the_same_model_as_the_python_api(tmp_path):
    result = run_cli("tabular", "train", ADULT, "--y", "salary", "--cat", ADULT_CAT, "--cont",
                     ADULT_CONT, "--epochs", "1", "--seed", "42", "--out", tmp_path / "a.brisk")
    assert result.code == 0, result.stderr
    assert "epoch" in result.stdout and "exported" in result.stdout

    df = pd.read_csv(ADULT)
    data = TabularData.from_df(df, y="salary", cat_names=ADULT_CAT.split(","),
                               cont_names=ADULT_CONT.split(","), valid_pct=0.2, seed=42, bs=64)
    learn = bm.tabular_learner(data, layers=[200, 100], metrics=bm.accuracy, seed=42,
                               progress=False)
    learn.fit_one_cycle(1, 1e-2)
    by_python = learn.predict(df.head(200), unknown="ignore")
    by_cli = bm.load_learner(tmp_path / "a.brisk").predict(df.head(200), unknown="ignore")
    pd.testing.assert_frame_equal(by_cli, by_python, atol=1e-4, rtol=0)


def test_without_cat_and_cont_the_guess_is_used_and_printed(tmp_path):
    people().to_csv(tmp_path / "people.csv", index=False)
    result = run_cli("tabular", "train", tmp_path / "people.csv", "--y", "bought",
                     "--valid-col", "is_valid", "--layers", "20,10", "--epochs", "1",
                     "--out", tmp_path / "m.brisk")
    assert result.code == 0, result.stderr
    assert "--cat city,member\n" in result.stderr and "--cont age,income\n" in result.stderr
    pipeline = bm.load_learner(tmp_path / "m.brisk").pipeline
    assert (pipeline.cat_names, pipeline.cont_names) == (["city", "member"], ["age", "income"])


@pytest.mark.parametrize("flags", [
    lambda mask: mask,
    lambda mask: mask.astype(int),
    lambda mask: np.where(mask, "True", "false"),
], ids=["bool", "0/1", "text"])
def test_valid_col_marks_the_validation_rows(tmp_path, flags):
    df = people()
    df["is_valid"] = flags(df["is_valid"].to_numpy())
    df.to_csv(tmp_path / "people.csv", index=False)
    learn = build_learner(options(tmp_path / "people.csv", valid_col="is_valid"))
    assert learn.data.valid.n == 60 and learn.data.train.n + 60 == 300
    assert "is_valid" not in learn.pipeline.cat_names + learn.pipeline.cont_names


def test_valid_col_with_other_values_names_them(tmp_path):
    people().assign(is_valid="maybe").to_csv(tmp_path / "people.csv", index=False)
    with pytest.raises(DataError, match=r"--valid-col 'is_valid' must hold .*\['maybe'\]"):
        build_learner(options(tmp_path / "people.csv", valid_col="is_valid"))


def test_parquet_reads_like_csv(tmp_path):
    df = people()
    df.to_csv(tmp_path / "people.csv", index=False)
    df.to_parquet(tmp_path / "people.parquet")
    from_csv = build_learner(options(tmp_path / "people.csv", cat=["city"], cont=["age"]))
    from_parquet = build_learner(options(tmp_path / "people.parquet", cat=["city"], cont=["age"]))
    for csv_tensor, parquet_tensor in zip(from_csv.data.train.tensors,
                                          from_parquet.data.train.tensors, strict=True):
        assert bool((csv_tensor == parquet_tensor).all())


def test_lr_find_prints_the_suggestions_and_keeps_an_existing_plot(tmp_path):
    people().to_csv(tmp_path / "people.csv", index=False)
    args = ["lr-find", "tabular", tmp_path / "people.csv", "--y", "bought", "--cat", "city",
            "--cont", "age,income", "--num-it", "20", "--plot", tmp_path / "lr.png"]
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    assert all(name in result.stdout for name in ("valley", "minimum", "steepest"))
    assert (tmp_path / "lr.png").stat().st_size > 0
    again = run_cli(*args)
    assert again.code == 2 and "already exists; pass --force" in again.stderr
    assert run_cli(*args, "--force").code == 0


def test_an_existing_model_is_kept_and_nothing_is_trained(tmp_path):
    (tmp_path / "m.brisk").write_text("the user's file")
    result = run_cli("tabular", "train", ADULT, "--y", "salary", "--out", tmp_path / "m.brisk")
    assert result.code == 2 and "epoch" not in result.stdout
    assert result.stderr == (f"error: '{tmp_path / 'm.brisk'}' already exists; pass --force to "
                             "replace it, or choose another --out.\n")
    assert (tmp_path / "m.brisk").read_text() == "the user's file"


@pytest.mark.parametrize(("args", "message"), [
    (["--y", "salry"], "Column 'salry' (in --y) is not in the DataFrame; closest names: "
                       "['salary']"),
    (["--y", "salary", "--cat", "workklass"], "closest names: ['workclass']"),
    (["--y", "salary", "--valid-col", "is_valid", "--valid-pct", "0.1"],
     "Pass --valid-pct or --valid-col, not both"),
    (["--y", "salary", "--layers", "200,x"], "--layers takes positive integers"),
    (["--y", "salary", "--lr", "0"], "--lr must be positive"),
])
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    result = run_cli("tabular", "train", ADULT, *args, "--out", tmp_path / "m.brisk")
    assert result.code == 2
    assert message in result.stderr and result.stderr.count("error:") == 1
    assert not (tmp_path / "m.brisk").exists()


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("bad.csv", 'a,b\n1,2,3,4\n"unterminated\n', "CSV"),
    ("bad.parquet", "not parquet", "Parquet"),
])
def test_an_unreadable_table_is_a_one_line_error(tmp_path, name, content, kind):
    (tmp_path / name).write_text(content)
    result = run_cli("tabular", "train", tmp_path / name, "--y", "a", "--out", tmp_path / "m")
    assert result.code == 2
    assert result.stderr.startswith(f"error: Could not read '{tmp_path / name}' as {kind} (")
    assert result.stderr.count("\n") == 1


def test_info_reads_the_pipeline_of_todays_exports(tmp_path):
    people().to_csv(tmp_path / "people.csv", index=False)
    result = run_cli("tabular", "train", tmp_path / "people.csv", "--y", "bought", "--cat",
                     "city,member", "--cont", "age,income", "--layers", "8", "--epochs", "1",
                     "--out", tmp_path / "m.brisk")
    assert result.code == 0, result.stderr
    lines = info_lines(tmp_path / "m.brisk")
    assert lines["cat names"] == "2: city, member"
    assert lines["cont names"] == "2: age, income"
    assert lines["procs"] == "3: FillMissing, Categorify, Normalize"
    assert lines["y names"] == "1: bought" and lines["y kind"] == "category"
    assert lines["classes"] == "2: no, yes"


def test_info_and_predict_read_a_file_of_briskml_0_1_0(tmp_path):
    lines = info_lines(FIXTURES / "tabular_classifier.brisk")
    assert lines["cat names"] == "2: colour, size"
    assert lines["y names"] == "1: label" and lines["classes"] == "2: no, yes"
    assert lines["format"].startswith("export format v1 (briskml 0.1.0)")
    rows = pd.DataFrame({"colour": ["red", "blue"], "size": ["S", "L"], "age": [30.0, 50.0],
                         "income": [40.0, 60.0]})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", FIXTURES / "tabular_classifier.brisk", tmp_path / "rows.csv",
                     "--out", tmp_path / "out.csv")
    assert result.code == 0, result.stderr
    written = pd.read_csv(tmp_path / "out.csv")
    expected = bm.load_learner(FIXTURES / "tabular_classifier.brisk").predict(rows)
    assert written["prediction"].tolist() == expected["prediction"].tolist()
    np.testing.assert_allclose(written["probability_yes"], expected["probability_yes"], atol=1e-6)


def test_train_checkpoints_beside_out_and_resume_goes_on_from_them(tmp_path):
    data = tmp_path / "people.csv"
    people().to_csv(data, index=False)
    common = ["tabular", "train", data, "--y", "bought", "--layers", "20,10", "--seed", "0",
              "--epochs", "2"]
    first = run_cli(*common, "--out", tmp_path / "a.brisk")
    assert first.code == 0, first.stderr
    folder = tmp_path / "a.checkpoints"
    names = sorted(path.name for path in folder.iterdir())
    assert names == ["checkpoint-00000000.safetensors", "checkpoint-00000001.safetensors"]
    described = info_lines(folder / names[-1])
    assert described["resumes at"] == "epoch 2 of 2, batch 0"
    done, total = described["iteration"].split(" of ")
    assert done == total
    assert "valid_loss" in described["epoch 1"]
    # From the first epoch's checkpoint, the second epoch again: the same model.
    (folder / names[-1]).unlink()
    second = run_cli(*common, "--out", tmp_path / "b.brisk", "--checkpoint-dir", folder,
                     "--resume")
    assert second.code == 0, second.stderr
    rows = people().head(20)
    a = bm.load_learner(tmp_path / "a.brisk").predict(rows)
    b = bm.load_learner(tmp_path / "b.brisk").predict(rows)
    pd.testing.assert_frame_equal(a, b)


def test_resume_without_checkpoints_is_one_clear_error(tmp_path):
    data = tmp_path / "people.csv"
    people().to_csv(data, index=False)
    result = run_cli("tabular", "train", data, "--y", "bought", "--out", tmp_path / "m.brisk",
                     "--resume")
    assert result.code == 2
    assert result.stderr.startswith("error: No checkpoint folder")   # before any work
