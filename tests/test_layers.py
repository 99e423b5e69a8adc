import dataclasses

import pytest
import torch

from briskml.errors import ConfigError
from briskml.layers import MLP, LinBnDrop, MLPConfig, SigmoidRange


def test_sigmoid_range_stays_inside_its_bounds():
    squash = SigmoidRange(0.0, 5.5)
    out = squash(torch.tensor([-100.0, 0.0, 100.0]))
    assert out[0] >= 0.0 and out[2] <= 5.5 and out[1] == pytest.approx(2.75)
    with pytest.raises(ConfigError, match="low < high"):
        SigmoidRange(2.0, 1.0)


def test_linbndrop_runs_linear_relu_batchnorm_dropout_in_that_order():
    block = LinBnDrop(4, 8, bn=True, p=0.1).eval()
    x = torch.randn(5, 4)
    expected = block.drop(block.bn(torch.relu(block.linear(x))))
    assert torch.allclose(block(x), expected)
    assert block.linear.bias is None   # the BatchNorm's shift makes a bias redundant


def test_linbndrop_with_lin_first_false_normalises_its_input_then_applies_the_linear():
    block = LinBnDrop(6, 3, p=0.2, lin_first=False, act=False).eval()
    x = torch.randn(4, 6)
    assert block.bn.num_features == 6 and block.linear.bias is not None
    assert torch.allclose(block(x), block.linear(block.bn(x)))


def test_linbndrop_trains_on_a_batch_of_one_row_with_running_statistics():
    block = LinBnDrop(4, 2).train()
    assert block(torch.randn(1, 4)).shape == (1, 2)


def test_mlp_weights_saved_by_briskml_0_1_0_load_under_the_new_names():
    old = {"hidden.0.0.weight": torch.ones(8, 3), "hidden.0.2.running_mean": torch.zeros(8),
           "head.weight": torch.ones(2, 8)}
    assert sorted(MLP.upgrade_state(old)) == ["head.weight", "hidden.0.bn.running_mean",
                                              "hidden.0.linear.weight"]


def test_mlp_config_round_trips_through_json_lists():
    config = MLPConfig(in_features=3, out_features=2, layers=(8, 4), ps=(0.1, 0.2), y_range=(0, 1))
    rebuilt = MLPConfig(**{k: list(v) if isinstance(v, tuple) else v
                           for k, v in dataclasses.asdict(config).items()})
    assert rebuilt == config


def test_mlp_output_shape_and_range():
    model = MLP(MLPConfig(in_features=3, out_features=2, layers=(8,), y_range=(0.0, 1.0)))
    out = model(torch.randn(5, 3))
    assert out.shape == (5, 2) and bool(((out > 0) & (out < 1)).all())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"layers": (8, 4), "ps": (0.1,)}, r"ps has 1 value\(s\) for 2 layer\(s\)"),
    ({"ps": 1.0}, "Dropout"),
    ({"layers": (0,)}, "positive"),
])
def test_bad_mlp_configs_are_explained(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MLPConfig(in_features=3, out_features=1, **kwargs)
