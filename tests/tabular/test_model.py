import dataclasses
import json

import pytest
import torch
from torch import nn

from briskml.errors import ConfigError
from briskml.layers import LinBnDrop
from briskml.registry import model_from_spec, model_spec
from briskml.tabular import TabularModel, TabularModelConfig, emb_sz_rule
from briskml.tabular.model import FusedEmbedding, get_emb_szs, tabular_splitter

EMB_SZS = ((10, 6), (17, 8), (3, 3))


def make_model(**overrides) -> TabularModel:
    options = {"emb_szs": EMB_SZS, "num_continuous": 4, "out_features": 2, "layers": (16, 8)}
    return TabularModel(TabularModelConfig(**{**options, **overrides}))


def random_codes(num_rows: int = 32) -> torch.Tensor:
    return torch.stack([torch.randint(0, count, (num_rows,)) for count, _ in EMB_SZS], dim=1)


@pytest.mark.parametrize(("n_categories", "size"), [(2, 2), (10, 6), (43, 13), (10**6, 600)])
def test_emb_sz_rule_is_the_lessons_rule(n_categories, size):
    assert emb_sz_rule(n_categories) == size


def test_emb_szs_count_code_zero_and_take_overrides():
    categories = {"a": ["x", "y"], "b": list(range(9))}
    assert get_emb_szs(categories, ["a", "b"]) == ((3, 3), (10, 6))
    assert get_emb_szs(categories, ["a", "b"], {"b": 4}) == ((3, 3), (10, 4))
    with pytest.raises(ConfigError, match=r"names \['c'\], which are not categorical"):
        get_emb_szs(categories, ["a", "b"], {"c": 4})
    with pytest.raises(ConfigError, match=r"emb_szs\['b'\] must be a positive integer; got 0"):
        get_emb_szs(categories, ["a", "b"], {"b": 0})


def test_the_fused_lookup_equals_one_embedding_per_column():
    fused = FusedEmbedding(EMB_SZS)
    codes = random_codes()
    expected = torch.cat([fused.table(i)[codes[:, i]] for i in range(len(EMB_SZS))], dim=1)
    assert torch.equal(fused(codes), expected)
    assert fused(codes).shape == (32, 6 + 8 + 3)


def test_the_padding_of_the_fused_table_gets_no_gradient():
    fused = FusedEmbedding(EMB_SZS)
    fused(random_codes()).pow(2).sum().backward()
    padding = torch.ones_like(fused.weight, dtype=torch.bool)
    for i in range(len(EMB_SZS)):
        start = int(fused.offsets[i])
        padding[start:start + EMB_SZS[i][0], :EMB_SZS[i][1]] = False
    assert fused.weight.grad[padding].abs().sum() == 0
    assert fused.weight[padding].abs().sum() == 0


def test_the_model_maps_codes_and_continuous_inputs_to_outputs():
    model = make_model()
    output = model(random_codes(), torch.randn(32, 4))
    assert output.shape == (32, 2)
    output.sum().backward()
    assert all(param.grad is not None for param in model.parameters())


def test_the_model_works_with_only_continuous_or_only_categorical_inputs():
    only_continuous = make_model(emb_szs=())
    assert only_continuous(torch.zeros(8, 0, dtype=torch.long), torch.randn(8, 4)).shape == (8, 2)
    only_categorical = make_model(num_continuous=0)
    assert only_categorical(random_codes(8), torch.zeros(8, 0)).shape == (8, 2)


def test_y_range_bounds_regression_outputs():
    model = make_model(out_features=1, y_range=(1.0, 5.0))
    output = model(random_codes(), 100 * torch.randn(32, 4))
    assert output.min() >= 1.0 and output.max() <= 5.0


def test_dropout_and_layers_follow_the_config():
    model = make_model(ps=(0.1, 0.2), emb_drop=0.3)
    assert isinstance(model.emb_drop, nn.Dropout) and model.emb_drop.p == 0.3
    assert [block.drop.p for block in model.hidden] == [0.1, 0.2]
    assert [block.linear.out_features for block in model.hidden] == [16, 8]
    assert model.hidden[0].linear.bias is None  # the BatchNorm after it has the shift


@pytest.mark.parametrize(("bad", "message"), [
    ({"ps": (0.1,)}, r"ps has 1 value\(s\) for 2 layer\(s\)"),
    ({"ps": 1.0}, r"ps must be in \[0, 1\); got 1.0"),
    ({"emb_drop": 1.0}, r"emb_drop must be in \[0, 1\); got 1.0"),
    ({"layers": (0,)}, "each size in layers must be a positive integer; got 0"),
    ({"layers": (2.5,)}, "each size in layers must be a positive integer; got 2.5"),
    ({"emb_szs": ((3, 0),)}, "each embedding size in emb_szs must be a positive integer"),
    ({"num_continuous": -1}, "num_continuous must be an integer >= 0; got -1"),
    ({"out_features": 0}, "out_features must be a positive integer; got 0"),
    ({"emb_szs": (), "num_continuous": 0}, "at least one categorical or continuous input"),
])
def test_an_invalid_config_is_refused(bad, message):
    with pytest.raises(ConfigError, match=message):
        make_model(**bad)


def test_the_weights_keep_the_names_briskml_0_1_0_exported():
    names = set(make_model(layers=(16, 8)).state_dict())
    expected = {"embeds.weight", "head.weight", "head.bias"}
    expected |= {f"bn_cont.{part}" for part in ("weight", "bias", "running_mean", "running_var",
                                                "num_batches_tracked")}
    for i in range(2):
        expected.add(f"hidden.{i}.linear.weight")
        expected |= {f"hidden.{i}.bn.{part}" for part in ("weight", "bias", "running_mean",
                                                          "running_var", "num_batches_tracked")}
    assert names == expected


def test_the_hidden_blocks_are_the_shared_lin_bn_drop():
    model = make_model(use_bn=False)
    assert all(isinstance(block, LinBnDrop) for block in model.hidden)
    assert model.hidden[0].linear.bias is not None  # no BatchNorm after it: it keeps its bias


def test_the_config_survives_json_and_rebuilds_the_same_model():
    model = make_model(ps=0.1, y_range=(0, 3), out_features=1)
    spec = json.loads(json.dumps(model_spec(model)))
    rebuilt = model_from_spec(spec, "test")
    assert rebuilt.config == model.config
    assert dataclasses.asdict(rebuilt.config) == dataclasses.asdict(model.config)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()


def test_the_splitter_separates_the_embeddings():
    model = make_model()
    groups = tabular_splitter(model)
    assert groups[0] == [model.embeds.weight]
    assert len(groups[0]) + len(groups[1]) == len(list(model.parameters()))
