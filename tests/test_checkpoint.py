import json

import pytest
import torch
from safetensors import safe_open
from torch import nn

import briskml as bm
from briskml.errors import ConfigError, FileFormatError
from tests.conftest import make_loaders, make_regression


@pytest.fixture
def trained(tmp_path):
    data = make_loaders(*make_regression())
    model = bm.MLP(bm.MLPConfig(in_features=4, out_features=1, layers=(16, 8)))
    learn = bm.Learner(data, model, loss_func=bm.mse_flat, metrics=[bm.rmse], path=tmp_path,
                       progress=False)
    learn.fit_one_cycle(2, 1e-2)
    return learn


def test_save_and_load_round_trip_gives_identical_predictions(trained):
    x = torch.randn(20, 4)
    expected = trained.predict(x)
    state = {k: v.clone() for k, v in trained.opt.state[trained.model.head.weight].items()}
    path = trained.save("stage-1")
    assert path == trained.path / "models" / "stage-1.safetensors"
    trained.fit(1, 1e-2)
    assert not torch.equal(trained.predict(x), expected)
    trained.load("stage-1")
    assert torch.equal(trained.predict(x), expected)
    for key, value in trained.opt.state[trained.model.head.weight].items():
        assert torch.equal(value, state[key]), key


def test_loading_into_a_different_shape_names_the_parameter_and_both_shapes(trained, tmp_path):
    trained.save("small")
    other = bm.Learner(trained.data, bm.MLP(bm.MLPConfig(4, 1, layers=(32, 8))), path=tmp_path,
                       progress=False)
    expected = r"'hidden\.0\.linear\.weight' has shape \(16, 4\) .* \(32, 4\)"
    with pytest.raises(FileFormatError, match=expected):
        other.load("small")


def test_loading_optimizer_state_that_was_not_saved_is_explained(trained):
    trained.save("weights-only", with_opt=False)
    with pytest.raises(FileFormatError, match="with_opt=False"):
        trained.load("weights-only")
    trained.load("weights-only", with_opt=False)


def test_export_and_load_learner_round_trip_gives_identical_predictions(trained, tmp_path):
    path = trained.export("model.brisk")
    restored = bm.load_learner(path)
    x = torch.randn(20, 4)
    assert torch.equal(restored.predict(x), trained.predict(x))
    assert restored.loss_func is bm.mse_flat and restored.data is None
    assert restored.device.type == "cpu"


def test_exported_file_reads_back_with_safetensors_and_json_alone(trained):
    path = trained.export("model.brisk")
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["briskml"])
        weights = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    assert meta["kind"] == "learner" and meta["model"]["name"] == "MLP"
    assert meta["model"]["config"]["layers"] == [16, 8]
    assert meta["last_epoch"]["epoch"] == 1 and "rmse" in meta["last_epoch"]
    assert torch.equal(weights["model.head.weight"], trained.model.head.weight.detach())


def test_export_refuses_to_overwrite_unless_asked(trained):
    trained.export("model.brisk")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        trained.export("model.brisk")
    trained.export("model.brisk", overwrite=True)


def test_export_needs_a_registered_model(tmp_path):
    learn = bm.Learner(None, nn.Linear(2, 1), path=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="register_model"):
        learn.export("linear.brisk")


def test_a_checkpoint_is_not_mistaken_for_an_export(trained):
    path = trained.save("checkpoint")
    with pytest.raises(FileFormatError, match=r"checkpoint from learn\.save"):
        bm.load_learner(path)
