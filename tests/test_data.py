import numpy as np
import pytest
import torch

from briskml.data import DataLoaders, TensorLoader, set_seed
from briskml.errors import ConfigError, DataError


def test_batches_slice_the_tensors_in_order():
    x, y = torch.arange(10).float().unsqueeze(1), torch.arange(10)
    batches = list(TensorLoader(x, y, bs=4))
    assert len(batches) == 3 == len(TensorLoader(x, y, bs=4))
    assert batches[0][1].tolist() == [0, 1, 2, 3]
    assert batches[-1][1].tolist() == [8, 9]


def test_drop_last_drops_the_short_batch():
    loader = TensorLoader(torch.zeros(10, 2), torch.zeros(10), bs=4, drop_last=True)
    assert len(loader) == 2
    assert [len(targets) for _, targets in loader] == [4, 4]


def test_shuffle_serves_every_row_once_per_epoch_in_a_new_order():
    y = torch.arange(100)
    loader = TensorLoader(y.float(), y, bs=16, shuffle=True)
    first = torch.cat([targets for _, targets in loader])
    second = torch.cat([targets for _, targets in loader])
    assert sorted(first.tolist()) == list(range(100))
    assert not torch.equal(first, second)


def test_inputs_and_targets_stay_aligned_when_shuffled():
    x = torch.arange(50).float()
    loader = TensorLoader(x, x * 2, bs=7, shuffle=True)
    for inputs, targets in loader:
        assert torch.equal(inputs * 2, targets)


def test_numpy_arrays_are_accepted():
    loader = TensorLoader(np.ones((6, 3), dtype=np.float32), np.zeros(6, dtype=np.int64), bs=4)
    inputs, targets = next(iter(loader))
    assert inputs.dtype == torch.float32 and targets.dtype == torch.int64


def test_tensors_of_different_lengths_are_refused_with_their_sizes():
    with pytest.raises(DataError, match="tensor 0: 5 rows, tensor 1: 4 rows"):
        TensorLoader(torch.zeros(5, 2), torch.zeros(4))


@pytest.mark.parametrize("bs", [0, -3, 2.5])
def test_batch_size_must_be_a_positive_integer(bs):
    with pytest.raises(ConfigError, match="bs must be"):
        TensorLoader(torch.zeros(5), bs=bs)


def test_seeded_shuffles_repeat():
    loader = TensorLoader(torch.arange(20), torch.arange(20), bs=5, shuffle=True)
    set_seed(3)
    first = [targets.tolist() for _, targets in loader]
    set_seed(3)
    assert [targets.tolist() for _, targets in loader] == first


def test_dataloaders_by_name():
    train = TensorLoader(torch.zeros(4), torch.zeros(4))
    data = DataLoaders(train)
    assert data["train"] is train and data["valid"] is None
    with pytest.raises(ConfigError, match="'train', 'valid' or 'test'"):
        data["holdout"]
