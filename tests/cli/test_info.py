"""`briskml info`: what an exported model is, from the file alone."""

from __future__ import annotations

import json

from tests.cli.conftest import run_cli


def test_info_describes_a_tabular_model(adult_model):
    result = run_cli("info", adult_model)
    assert result.code == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert lines["kind"].split() == ["kind", "tabular"]
    assert lines["model"].split() == ["model", "TabularModel"]
    assert "6: workclass, education" in lines["categorical"]
    assert "3: age, fnlwgt, education-num" in lines["continuous"]
    assert lines["classes"].split(None, 1)[1] == "<50k, >=50k"
    assert "after epoch 0: train_loss" in result.stdout and "accuracy 0." in result.stdout
    assert "layers" in result.stdout and "kB)" in lines["file"]
    assert "read by briskml 0." in lines["format"]


def test_info_describes_a_collab_model(movies_model):
    result = run_cli("info", movies_model)
    assert result.code == 0, result.stderr
    assert "EmbeddingDotBias" in result.stdout
    assert "user 'userId', item 'movieId', rating 'rating'" in result.stdout
    assert "300 known" in result.stdout and "with titles" in result.stdout
    assert "rmse" in result.stdout


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
