import functools

import pytest
import torch
from torch import nn

from briskml.errors import ConfigError
from briskml.optim import (
    apply_weight_decay,
    build_optimizer,
    check_layer_groups,
    decayed_parameters,
    get_hyper,
    no_decay_parameter_ids,
    resolve_lrs,
    set_learning_rates,
    set_momentum,
    set_weight_decay,
)
from tests.conftest import TwoLayer, two_group_splitter

LR, WD = 0.1, 0.05


def one_step(opt_func, wd_mode, w0, grads):
    """Run len(grads) steps of our optimizer on a single weight tensor, as the Learner does."""
    weight = nn.Parameter(w0.clone())
    optimizer = build_optimizer(opt_func, [[weight]])
    set_learning_rates(optimizer, [LR])
    set_weight_decay(optimizer, WD, wd_mode)
    for grad in grads:
        weight.grad = grad.clone()
        apply_weight_decay(optimizer, [[weight]])
        optimizer.step()
    return weight.detach()


W0 = torch.tensor([1.0, -2.0, 0.5])
G1 = torch.tensor([0.3, 0.1, -0.4])
G2 = torch.tensor([-0.2, 0.5, 0.1])


def test_sgd_momentum_follows_the_lessons_formula_with_true_weight_decay():
    momentum = 0.9
    # step 1: decay the weight, PyTorch starts the momentum buffer at the first gradient
    w1 = W0 * (1 - LR * WD) - LR * G1
    v1 = G1
    # step 2: v = m*v + (1-m)*g
    v2 = momentum * v1 + (1 - momentum) * G2
    w2 = w1 * (1 - LR * WD) - LR * v2
    assert torch.allclose(one_step("sgd", "decoupled", W0, [G1, G2]), w2, atol=1e-6)


def test_sgd_with_l2_adds_wd_times_weight_to_the_gradient():
    momentum = 0.9
    v1 = G1 + WD * W0
    w1 = W0 - LR * v1
    v2 = momentum * v1 + (1 - momentum) * (G2 + WD * w1)
    w2 = w1 - LR * v2
    assert torch.allclose(one_step("sgd", "l2", W0, [G1, G2]), w2, atol=1e-6)


def adam_by_hand(w0, grad, decoupled, beta1=0.9, beta2=0.99, eps=1e-5):
    if not decoupled:
        grad = grad + WD * w0
    m = (1 - beta1) * grad / (1 - beta1)
    v = (1 - beta2) * grad**2 / (1 - beta2)
    start = w0 * (1 - LR * WD) if decoupled else w0
    return start - LR * m / (v.sqrt() + eps)


@pytest.mark.parametrize("wd_mode", ["decoupled", "l2"])
def test_adam_step_matches_the_formula(wd_mode):
    expected = adam_by_hand(W0, G1, decoupled=wd_mode == "decoupled")
    assert torch.allclose(one_step("adam", wd_mode, W0, [G1]), expected, atol=1e-6)


def test_decoupled_and_l2_decay_differ_exactly_as_the_maths_says():
    decoupled = one_step("adam", "decoupled", W0, [G1])
    l2 = one_step("adam", "l2", W0, [G1])
    assert not torch.allclose(decoupled, l2)
    assert torch.allclose(decoupled, adam_by_hand(W0, G1, True), atol=1e-6)
    assert torch.allclose(l2, adam_by_hand(W0, G1, False), atol=1e-6)


def test_rmsprop_step_matches_the_formula():
    alpha, eps = 0.99, 1e-8
    square_avg = (1 - alpha) * G1**2
    expected = W0 * (1 - LR * WD) - LR * G1 / (square_avg.sqrt() + eps)
    assert torch.allclose(one_step("rmsprop", "decoupled", W0, [G1]), expected, atol=1e-5)


def test_any_torch_optimizer_factory_is_accepted_with_its_own_decay_switched_off():
    weight = nn.Parameter(W0.clone())
    optimizer = build_optimizer(torch.optim.AdamW, [[weight]])
    assert optimizer.param_groups[0]["weight_decay"] == 0.0
    plain_sgd = build_optimizer(functools.partial(torch.optim.SGD, lr=0.1), [[weight]])
    assert get_hyper(plain_sgd, "mom") == [None]


def test_unknown_optimizer_name_lists_the_choices():
    with pytest.raises(ConfigError, match="adam"):
        build_optimizer("adagrad", [[nn.Parameter(W0.clone())]])


def test_biases_and_batchnorm_weights_are_not_decayed():
    model = TwoLayer()
    groups = two_group_splitter(model)
    decayed = decayed_parameters(groups, no_decay_parameter_ids(model))
    optimizer = build_optimizer("sgd", groups)
    set_learning_rates(optimizer, [LR, LR])
    set_weight_decay(optimizer, WD, "decoupled")
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for param in model.parameters():
        param.grad = torch.zeros_like(param)
    apply_weight_decay(optimizer, decayed)
    for name, param in model.named_parameters():
        should_decay = name in ("body.0.weight", "head.weight")
        expected = before[name] * (1 - LR * WD) if should_decay else before[name]
        assert torch.allclose(param, expected), name


def test_parameters_without_gradient_are_not_decayed():
    weight = nn.Parameter(W0.clone())
    optimizer = build_optimizer("adam", [[weight]])
    set_weight_decay(optimizer, WD, "decoupled")
    apply_weight_decay(optimizer, [[weight]])
    assert torch.equal(weight.detach(), W0)


@pytest.mark.parametrize(("lr", "expected"), [
    (0.01, [0.01, 0.01, 0.01]),
    (slice(1e-4, 1e-2), [1e-4, 1e-3, 1e-2]),
    (slice(3e-2), [1e-2, 1e-2, 3e-2]),
    ([1e-3, 2e-3, 3e-3], [1e-3, 2e-3, 3e-3]),
])
def test_discriminative_learning_rates(lr, expected):
    assert resolve_lrs(lr, 3) == pytest.approx(expected)


@pytest.mark.parametrize(("lr", "message"), [
    ([1e-3, 2e-3], "2 learning rates for 3 layer groups"),
    (-1.0, "positive"),
    ("fast", "float, a slice"),
    (slice(1e-3, 1e-2, 2), "slice"),
])
def test_bad_learning_rates_are_explained(lr, message):
    with pytest.raises(ConfigError, match=message):
        resolve_lrs(lr, 3)


def test_splitter_must_cover_every_parameter_once():
    model = TwoLayer()
    with pytest.raises(ConfigError, match="left 2 parameter"):
        check_layer_groups(model, [list(model.body.parameters())])
    with pytest.raises(ConfigError, match="two layer groups"):
        check_layer_groups(model, [list(model.parameters()), list(model.head.parameters())])
    with pytest.raises(ConfigError, match="empty"):
        check_layer_groups(model, [[], list(model.parameters())])


def test_momentum_is_written_per_layer_group():
    model = TwoLayer()
    optimizer = build_optimizer("adam", two_group_splitter(model))
    set_momentum(optimizer, [0.8, 0.7])
    assert get_hyper(optimizer, "mom") == [0.8, 0.7]
    assert optimizer.param_groups[1]["betas"] == (0.7, 0.99)
    sgd_optimizer = build_optimizer("sgd", two_group_splitter(model))
    set_momentum(sgd_optimizer, [0.8, 0.7])
    assert sgd_optimizer.param_groups[0]["dampening"] == 0.8


def test_weight_decay_must_be_a_non_negative_number():
    optimizer = build_optimizer("adam", [[nn.Parameter(W0.clone())]])
    with pytest.raises(ConfigError, match="wd must be"):
        set_weight_decay(optimizer, -0.1, "decoupled")
    with pytest.raises(ConfigError, match="wd_mode"):
        set_weight_decay(optimizer, 0.1, "adamw")
