"""Small ratings for the collab tests: a synthetic low-rank world and the bundled sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from briskml.collab.sample import movielens_sample


def make_ratings(num_users: int = 40, num_items: int = 30, density: float = 0.5,
                 seed: int = 0) -> pd.DataFrame:
    """Ratings 1-5 from a rank-2 taste model plus noise, about `density` of all pairs rated."""
    rng = np.random.default_rng(seed)
    users, items = rng.normal(size=(num_users, 2)), rng.normal(size=(num_items, 2))
    item_bias = rng.normal(scale=0.5, size=num_items)
    pairs = [(u, i) for u in range(num_users) for i in range(num_items) if rng.random() < density]
    user_index = np.array([u for u, _ in pairs])
    item_index = np.array([i for _, i in pairs])
    score = (users[user_index] * items[item_index]).sum(1) + item_bias[item_index]
    rating = np.clip(np.round(3.0 + score + rng.normal(scale=0.3, size=len(pairs))), 1, 5)
    return pd.DataFrame({"user": user_index + 100, "item": item_index + 1000, "rating": rating})


@pytest.fixture
def ratings() -> pd.DataFrame:
    """About 600 synthetic ratings of 30 items by 40 users (ids 100.. and 1000..)."""
    return make_ratings()


@pytest.fixture
def titles() -> pd.DataFrame:
    """A title for each synthetic item: 'Item <id>'."""
    ids = np.arange(1000, 1030)
    return pd.DataFrame({"item": ids, "title": [f"Item {i}" for i in ids]})


@pytest.fixture
def item_features() -> pd.DataFrame:
    """Side features of the synthetic items plus two items that have no ratings (ids 2000, 2001)."""
    ids = np.r_[np.arange(1000, 1030), [2000, 2001]]
    rng = np.random.default_rng(1)
    return pd.DataFrame({"item": ids, "year": rng.integers(1950, 2020, len(ids)).astype(float),
                         "genre": rng.choice(["comedy", "drama", "horror"], len(ids)),
                         "is_long": rng.random(len(ids)) > 0.5})


@pytest.fixture(scope="session")
def sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled MovieLens sample: (ratings, movies)."""
    return movielens_sample()
