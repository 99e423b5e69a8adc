import numpy as np
import pandas as pd
import pytest
import torch

from briskml.collab.interpret import cosine_neighbours, principal_components, rank_items
from briskml.errors import ConfigError


def test_principal_components_are_uncorrelated_and_ordered_by_spread():
    torch.manual_seed(0)
    vectors = torch.randn(200, 3) @ torch.tensor([[3.0, 0, 0], [0, 1.0, 0], [0, 0, 0.2]])
    positions = principal_components(vectors, 3).double()
    covariance = torch.cov(positions.T)
    assert torch.allclose(covariance - torch.diag(torch.diag(covariance)),
                          torch.zeros(3, 3, dtype=torch.float64), atol=1e-4)
    spread = torch.diag(covariance)
    assert spread[0] > spread[1] > spread[2]


def test_principal_components_do_not_flip_sign_when_rows_are_reordered():
    torch.manual_seed(0)
    vectors = torch.randn(50, 4)
    order = torch.randperm(50)
    first = principal_components(vectors, 2)
    second = principal_components(vectors[order], 2)
    assert torch.allclose(first[order], second, atol=1e-5)


def test_too_many_components_are_refused():
    with pytest.raises(ConfigError, match="n_components must be between 1 and 3"):
        principal_components(torch.randn(10, 3), 4)


def test_cosine_neighbours_skip_the_excluded_row():
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    positions, similarity = cosine_neighbours(vectors, vectors[0], n=2, exclude=torch.tensor([0]))
    assert positions.tolist() == [1, 2]
    assert similarity[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1))


def test_rank_items_keeps_items_with_enough_ratings():
    table = pd.DataFrame({"bias": [0.5, 0.9, 0.1], "mean_rating": [4.0, 4.5, 3.0],
                          "num_ratings": [10, 2, 30]}, index=["a", "b", "c"])
    assert rank_items(table, "bias", 2, min_ratings=5, ascending=False).index.tolist() == ["a", "c"]
    assert rank_items(table, "num_ratings", 1, 1, ascending=True).index.tolist() == ["b"]


def test_rank_items_names_the_valid_choices():
    table = pd.DataFrame({"mean_rating": [4.0], "num_ratings": [3]})
    with pytest.raises(ConfigError, match="by must be one of"):
        rank_items(table, "popularity", 1, 1, False)
    with pytest.raises(ConfigError, match="no 'bias' to rank by"):
        rank_items(table, "bias", 1, 1, False)
