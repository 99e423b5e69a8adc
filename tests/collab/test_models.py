import dataclasses

import pytest
import torch

from briskml.collab import (
    EmbeddingDotBias,
    EmbeddingDotBiasConfig,
    EmbeddingHybrid,
    EmbeddingHybridConfig,
    EmbeddingNN,
    EmbeddingNNConfig,
)
from briskml.errors import ConfigError
from briskml.registry import model_from_spec, model_spec


def codes(*values: int) -> torch.Tensor:
    return torch.tensor(values)


def test_dot_bias_is_the_dot_product_plus_both_biases():
    model = EmbeddingDotBias(EmbeddingDotBiasConfig(3, n_users=4, n_items=5))
    with torch.no_grad():
        model.users.weight[1] = torch.tensor([1.0, 2.0, 3.0, 0.5])     # factors, then bias
        model.items.weight[2] = torch.tensor([1.0, 0.0, -1.0, 0.25])
    assert model(codes(1), codes(2)).item() == pytest.approx(1 - 3 + 0.5 + 0.25)


def test_y_range_squashes_through_a_scaled_sigmoid():
    plain = EmbeddingDotBias(EmbeddingDotBiasConfig(3, 4, 5))
    ranged = EmbeddingDotBias(EmbeddingDotBiasConfig(3, 4, 5, y_range=(0.0, 5.5)))
    ranged.load_state_dict(plain.state_dict())
    users, items = codes(1, 2, 3), codes(4, 3, 2)
    assert torch.allclose(ranged(users, items), torch.sigmoid(plain(users, items)) * 5.5)


def test_tables_start_small_with_a_zero_unknown_row():
    model = EmbeddingDotBias(EmbeddingDotBiasConfig(50, n_users=500, n_items=800))
    weights = model.items.weight.detach()
    assert weights[0].abs().sum() == 0
    assert 0.005 < weights[1:].std() < 0.012 and weights.abs().max() <= 0.02


def test_unknown_rows_become_the_rating_weighted_mean_row():
    model = EmbeddingDotBias(EmbeddingDotBiasConfig(2, n_users=3, n_items=3))
    with torch.no_grad():
        model.items.weight[1:] = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 2.0]])
    model.fill_unknown_rows(torch.tensor([0, 1, 1]), torch.tensor([0, 3, 1]))
    assert model.items.weight[0].tolist() == pytest.approx([0.75, 0.25, 1.25])


def test_embedding_nn_predicts_one_rating_per_row():
    config = EmbeddingNNConfig(emb_szs=((4, 3), (5, 6)), layers=(8,), y_range=(0, 5))
    output = EmbeddingNN(config).eval()(codes(1, 2, 3), codes(4, 3, 0))
    assert output.shape == (3,) and ((output > 0) & (output < 5)).all()


def test_the_hybrid_personalises_an_unknown_item_from_its_features():
    model = EmbeddingHybrid(EmbeddingHybridConfig(4, n_users=3, n_items=3, n_item_features=2))
    with torch.no_grad():
        model.users.weight[1] = 1.0
    no_user_x = torch.zeros(2, 0)
    item_x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    output = model(codes(1, 1), codes(0, 0), no_user_x, item_x)
    assert output[0] != output[1]


def test_the_hybrid_needs_its_feature_tensors():
    model = EmbeddingHybrid(EmbeddingHybridConfig(4, n_users=3, n_items=3, n_item_features=2))
    with pytest.raises(ConfigError, match="side-feature tensors"):
        model(codes(1), codes(1))


@pytest.mark.parametrize("config", [
    EmbeddingDotBiasConfig(5, 4, 6, y_range=(0, 5.5)),
    EmbeddingNNConfig(emb_szs=((4, 3), (6, 2)), layers=(7, 5), ps=(0.1, 0.2), y_range=(1, 5)),
    EmbeddingHybridConfig(5, 4, 6, n_user_features=1, n_item_features=3, sparse=False),
])
def test_models_rebuild_from_their_json_spec(config):
    model_class = {EmbeddingDotBiasConfig: EmbeddingDotBias, EmbeddingNNConfig: EmbeddingNN,
                   EmbeddingHybridConfig: EmbeddingHybrid}[type(config)]
    spec = model_spec(model_class(config))
    rebuilt = model_from_spec({"name": spec["name"], "config": dict(spec["config"])}, "test")
    assert rebuilt.config == config
    assert dataclasses.asdict(rebuilt.config) == spec["config"]


@pytest.mark.parametrize(("build", "message"), [
    (lambda: EmbeddingDotBiasConfig(0, 4, 5), "n_factors must be a positive integer"),
    (lambda: EmbeddingDotBiasConfig(3, 4, 5, y_range=(5, 1)), "low < high"),
    (lambda: EmbeddingNNConfig(emb_szs=((4, 3),)), "exactly two"),
    (lambda: EmbeddingNNConfig(emb_szs=((4, 3), (5, 2)), embed_p=1.0), "embed_p"),
    (lambda: EmbeddingNNConfig(emb_szs=((4, 3), (5, 0))), "item size must be a positive integer"),
    (lambda: EmbeddingNNConfig(emb_szs=((4, 3), (5, 2)), layers=(8, 4), ps=(0.1,)),
     r"ps has 1 value\(s\) for 2 layer\(s\)"),
    (lambda: EmbeddingNNConfig(emb_szs=((4, 3), (5, 2)), ps=1.5), r"ps must be in \[0, 1\)"),
    (lambda: EmbeddingNNConfig(emb_szs=((4, 3), (5, 2)), layers=(0,)), "each size in layers"),
    (lambda: EmbeddingHybridConfig(3, 4, 5, n_item_features=-1), "n_item_features must be an "
                                                                  "integer >= 0"),
    (lambda: EmbeddingHybridConfig(3, 4, 5), "needs user or item features"),
])
def test_bad_configurations_are_named(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


@pytest.mark.parametrize("sparse", [True, False])
def test_embedding_gradients_are_sparse_only_when_asked(sparse):
    model = EmbeddingDotBias(EmbeddingDotBiasConfig(3, 4, 5, sparse=sparse))
    model(codes(1, 2), codes(3, 3)).sum().backward()
    assert model.items.weight.grad.is_sparse is sparse


def test_dropouts_from_json_become_a_tuple_per_layer():
    config = EmbeddingNNConfig(emb_szs=[[4, 3], [5, 2]], layers=[8, 4], ps=[0.1, 0.2])
    assert config.ps == (0.1, 0.2) and config.emb_szs == ((4, 3), (5, 2))
    assert EmbeddingNNConfig(emb_szs=((4, 3), (5, 2)), ps=0.1).ps == 0.1


def test_embedding_nn_renames_weights_saved_by_briskml_0_1_0():
    model = EmbeddingNN(EmbeddingNNConfig(emb_szs=((4, 3), (5, 2)), layers=(8,)))
    old_names = {"mlp.hidden.0.linear.": "mlp.hidden.0.0.", "mlp.hidden.0.bn.": "mlp.hidden.0.2."}
    saved = {}
    for key, value in model.state_dict().items():
        for new, old in old_names.items():
            key = key.replace(new, old)
        saved[key] = value
    assert "mlp.hidden.0.0.weight" in saved and "mlp.hidden.0.2.running_var" in saved
    assert EmbeddingNN.upgrade_state(saved).keys() == model.state_dict().keys()
