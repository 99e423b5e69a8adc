"""`briskml predict`: any exported model over any size of table, rows kept in order."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import briskml as bm
from tests.cli.conftest import ADULT, run_cli


def test_predictions_stream_in_chunks_and_keep_the_rows_in_order(adult_model, tmp_path):
    rows = pd.read_csv(ADULT).sample(frac=1.0, random_state=0).head(2500)  # shuffled ids
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", adult_model, tmp_path / "rows.csv", "--chunk-size", "700",
                     "--out", tmp_path / "out.csv")
    assert result.code == 0, result.stderr
    assert "predicted 2,500 rows -> " in result.stderr

    written = pd.read_csv(tmp_path / "out.csv")
    expected = bm.load_learner(adult_model).predict(rows, unknown="ignore")
    pd.testing.assert_frame_equal(written[rows.columns], rows.reset_index(drop=True))
    assert list(written.columns[len(rows.columns):]) == list(expected.columns)
    pd.testing.assert_frame_equal(written[expected.columns],
                                  expected.reset_index(drop=True).astype({"prediction": object}),
                                  atol=1e-6, rtol=0, check_dtype=False)


def test_parquet_in_and_csv_to_stdout(adult_model, tmp_path):
    rows = pd.read_csv(ADULT).head(300)
    rows.to_parquet(tmp_path / "rows.parquet")
    result = run_cli("predict", adult_model, tmp_path / "rows.parquet", "--chunk-size", "128")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 301 and lines[0].endswith(",prediction,probability_<50k,probability_>=50k")


def test_warnings_from_every_chunk_are_summed_up_in_one_line(adult_model, tmp_path):
    rows = pd.read_csv(ADULT).head(1000).assign(workclass="Astronaut")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", adult_model, tmp_path / "rows.csv", "--chunk-size", "250",
                     "--out", tmp_path / "out.csv")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "workclass" in warnings[0] and "(3 more like it in later chunks)" in warnings[0]


def test_strict_refuses_categories_never_seen_in_training(adult_model, tmp_path):
    pd.read_csv(ADULT).head(10).assign(workclass="Astronaut").to_csv(tmp_path / "r.csv",
                                                                     index=False)
    result = run_cli("predict", adult_model, tmp_path / "r.csv", "--strict", "--out",
                     tmp_path / "out.csv")
    assert result.code == 2 and "Astronaut" in result.stderr
    assert not (tmp_path / "out.csv").exists()  # nothing half-written


def test_an_existing_output_is_replaced_only_with_force(adult_model, tmp_path):
    pd.read_csv(ADULT).head(5).to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "out.csv").write_text("keep me")
    refused = run_cli("predict", adult_model, tmp_path / "rows.csv", "--out", tmp_path / "out.csv")
    assert refused.code == 2 and "already exists; pass --force" in refused.stderr
    assert (tmp_path / "out.csv").read_text() == "keep me"
    replaced = run_cli("predict", adult_model, tmp_path / "rows.csv", "--out",
                       tmp_path / "out.csv", "--force")
    assert replaced.code == 0 and len(pd.read_csv(tmp_path / "out.csv")) == 5


def test_collab_predictions_mark_unseen_ids(movies_model, tmp_path):
    pairs = pd.DataFrame({"userId": [1, 1, 99999], "movieId": [1, 123456789, 1], "note": "x"})
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    result = run_cli("predict", movies_model, tmp_path / "pairs.csv")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "userId,movieId,note,title,prediction,unseen,fallback"
    assert lines[1].startswith("1,1,x,Toy Story (1995),") and lines[1].endswith(",,False")
    assert lines[2].endswith(",item,True") and lines[3].endswith(",user,True")


@pytest.mark.parametrize(("rows", "message"), [
    (lambda df: df.head(3).assign(prediction="x"), "already has the column(s) ['prediction']"),
    (lambda df: df.head(0), "has no rows to predict"),
], ids=["prediction column", "no rows"])
def test_inputs_that_cannot_take_predictions_are_refused(adult_model, tmp_path, rows, message):
    rows(pd.read_csv(ADULT)).to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", adult_model, tmp_path / "rows.csv", "--out", tmp_path / "o.csv")
    assert result.code == 2 and message in result.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_one_line_error(adult_model):
    result = run_cli("predict", adult_model, ADULT, "--device", "cuda")
    assert result.code == 2
    assert result.stderr == ("error: --device cuda: this PyTorch sees no CUDA GPU "
                             "(torch.cuda.is_available() is False); use --device cpu.\n")


def test_a_learner_that_does_not_predict_tables_is_refused_before_reading_rows(tmp_path):
    x, y = torch.randn(32, 3), torch.randn(32)
    data = bm.DataLoaders(bm.TensorLoader(x, y, bs=8))
    learn = bm.Learner(data, bm.MLP(bm.MLPConfig(3, 1, layers=(4,))), progress=False)
    model = learn.export(tmp_path / "plain.brisk")
    pd.DataFrame({"a": [1.0]}).to_csv(tmp_path / "rows.csv", index=False)
    result = run_cli("predict", model, tmp_path / "rows.csv")
    assert result.code == 2
    assert "holds a learner model, which does not predict rows of a table" in result.stderr
    assert "learn.predict(tensors)" in result.stderr
