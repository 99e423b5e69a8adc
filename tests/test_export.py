"""load_learner and the export's version: today's files, 0.1.0 files, newer and damaged ones."""

import json
from pathlib import Path

import pytest
import torch

import briskml as bm
from briskml.errors import FileFormatError
from briskml.persist import read_bundle, write_bundle
from tests.conftest import make_loaders, make_regression

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_0"


@pytest.fixture
def exported(tmp_path) -> Path:
    data = make_loaders(*make_regression())
    learn = bm.Learner(data, bm.MLP(bm.MLPConfig(4, 1, layers=(8,))), progress=False)
    return learn.export(tmp_path / "plain.brisk")


def _rewrite(path: Path, **changes) -> Path:
    tensors, meta = read_bundle(path)
    meta = {key: value for key, value in meta.items() if key not in ("format", "format_version")}
    meta.update(changes)
    write_bundle(path, tensors, {key: value for key, value in meta.items() if value is not None})
    return path


def test_an_export_records_its_version_and_the_briskml_that_wrote_it(exported):
    _, meta = read_bundle(exported)
    assert meta["export_version"] == 2 and meta["briskml_version"] == bm.__version__
    assert "pipeline" in meta and "extra" not in meta


def test_a_file_from_a_newer_briskml_is_refused_with_the_fix(exported):
    _rewrite(exported, export_version=3)
    with pytest.raises(FileFormatError, match=r"newer briskml .*format 3.*upgrade briskml"):
        bm.load_learner(exported)


def test_a_damaged_version_is_refused(exported):
    _rewrite(exported, export_version="two")
    with pytest.raises(FileFormatError, match="export_version 'two'"):
        bm.load_learner(exported)


def test_a_plain_0_1_0_mlp_file_loads_under_the_new_block_names(tmp_path):
    old = {"hidden.0.0.weight": torch.randn(8, 4), "hidden.0.0.bias": torch.randn(8),
           "hidden.0.2.weight": torch.ones(8), "hidden.0.2.bias": torch.zeros(8),
           "hidden.0.2.running_mean": torch.zeros(8), "hidden.0.2.running_var": torch.ones(8),
           "hidden.0.2.num_batches_tracked": torch.tensor(0), "head.weight": torch.randn(1, 8),
           "head.bias": torch.randn(1)}
    config = {"in_features": 4, "out_features": 1, "layers": [8], "ps": 0.0, "use_bn": True,
              "y_range": None}
    path = tmp_path / "old.brisk"
    write_bundle(path, {f"model.{key}": value for key, value in old.items()},
                 {"content": "learner", "model": {"name": "MLP", "config": config},
                  "kind": "learner", "loss": "mse", "metrics": [], "last_epoch": None,
                  "extra": {}})
    learn = bm.load_learner(path)
    assert torch.equal(learn.model.hidden[0].linear.weight, old["hidden.0.0.weight"])


@pytest.mark.parametrize("name", ["tabular_classifier", "tabular_regressor", "collab_dot",
                                  "collab_nn", "text_lm", "text_classifier"])
def test_every_kind_exported_by_briskml_0_1_0_loads(name):
    learn = bm.load_learner(FIXTURES / f"{name}.brisk")
    assert learn.pipeline is not None
    assert json.dumps(learn.describe())
