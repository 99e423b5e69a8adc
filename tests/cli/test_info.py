"""`briskml info`: what an exported model is, from the file and the learner it loads."""

from __future__ import annotations

import json

from tests.cli.conftest import info_lines, run_cli


def test_info_describes_a_tabular_model(adult_model):
    lines = info_lines(adult_model)
    assert lines["kind"] == "tabular" and lines["model"] == "TabularModel"
    assert lines["cat names"].startswith("6: workclass, education")
    assert lines["cont names"] == "3: age, fnlwgt, education-num"
    assert lines["classes"] == "2: <50k, >=50k" and lines["metrics"] == "1: accuracy"
    assert lines["at export"].startswith("after epoch 0: train_loss")
    assert "accuracy 0." in lines["at export"]
    assert "layers" in lines and "kB)" in lines["file"]
    assert lines["format"].startswith("export format v2 (briskml ")


def test_info_describes_a_collab_model(movies_model):
    lines = info_lines(movies_model)
    assert lines["model"] == "EmbeddingDotBias"
    assert lines["columns"] == "user=userId, item=movieId, rating=rating"
    assert "known=300" in lines["items"] and "titles=True" in lines["items"]
    assert "rmse" in lines["at export"]


def test_info_json_prints_the_whole_document(adult_model):
    document = json.loads(run_cli("info", adult_model, "--json").stdout)
    assert document["kind"] == "tabular" and document["model"]["name"] == "TabularModel"


def test_info_explains_what_a_checkpoint_or_another_file_is(adult_model, tmp_path):
    import briskml as bm

    learn = bm.load_learner(adult_model)
    learn.path = tmp_path
    checkpoint = learn.save("stage-1", with_opt=False)
    result = run_cli("info", checkpoint)
    assert result.code == 2 and "is a checkpoint from learn.save()" in result.stderr
    (tmp_path / "notes.txt").write_text("hello")
    other = run_cli("info", tmp_path / "notes.txt")
    assert other.code == 2 and "is not a briskml file" in other.stderr
