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


def test_linbndrop_is_linear_relu_batchnorm_dropout():
    block = LinBnDrop(4, 8, use_bn=True, p=0.1)
    assert [type(m).__name__ for m in block] == ["Linear", "ReLU", "BatchNorm1d", "Dropout"]


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
    ({"layers": (8, 4), "ps": (0.1,)}, "ps has 1 values for 2 layers"),
    ({"ps": 1.0}, "Dropout"),
    ({"layers": (0,)}, "positive"),
])
def test_bad_mlp_configs_are_explained(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MLPConfig(in_features=3, out_features=1, **kwargs)
