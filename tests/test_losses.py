import pytest
import torch
import torch.nn.functional as F
from torch import nn

from briskml.errors import DataError
from briskml.losses import (
    activation_for,
    bce_with_logits_flat,
    cross_entropy_flat,
    default_loss,
    loss_name,
    mse_flat,
)


def test_mse_flat_matches_column_predictions_to_flat_targets_without_broadcasting():
    preds = torch.tensor([[1.0], [2.0]])
    targets = torch.tensor([1.0, 4.0])
    assert mse_flat(preds, targets).item() == pytest.approx(2.0)


def test_mse_flat_refuses_mismatched_sizes():
    with pytest.raises(DataError, match="sizes must match"):
        mse_flat(torch.zeros(3, 2), torch.zeros(3))


def test_cross_entropy_flat_handles_sequences():
    logits, targets = torch.randn(2, 3, 5), torch.randint(0, 5, (2, 3))
    expected = F.cross_entropy(logits.reshape(6, 5), targets.reshape(6))
    assert torch.allclose(cross_entropy_flat(logits, targets), expected)


def test_bce_flat_takes_integer_labels():
    logits, labels = torch.randn(4, 3), torch.randint(0, 2, (4, 3))
    expected = F.binary_cross_entropy_with_logits(logits, labels.float())
    assert torch.allclose(bce_with_logits_flat(logits, labels), expected)


def test_default_loss_follows_the_target_type():
    assert default_loss(torch.zeros(3)) is mse_flat
    assert default_loss(torch.zeros(3, dtype=torch.long)) is cross_entropy_flat


@pytest.mark.parametrize(("loss", "name"), [
    (cross_entropy_flat, "cross_entropy"), (F.cross_entropy, "cross_entropy"),
    (nn.MSELoss(), "mse"), (nn.BCEWithLogitsLoss(), "bce_with_logits"), (lambda p, t: p, None),
])
def test_losses_are_named_for_export(loss, name):
    assert loss_name(loss) == name


def test_activation_follows_the_loss():
    output = torch.tensor([[0.0, 0.0]])
    assert torch.allclose(activation_for(F.cross_entropy)(output), torch.tensor([[0.5, 0.5]]))
    assert activation_for(mse_flat) is None
