"""The collab part of `make demo`: lesson 5 on the bundled MovieLens sample.

Finds a learning rate, trains the dot-product model with the lesson's recipe, prints
recommendations, the movies the model likes beyond their ratings, and a cold-start prediction, and
saves the lr_find and loss plots.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from briskml.cli.demos.common import DemoResult, save_plots
from briskml.collab.data import CollabData
from briskml.collab.learner import collab_learner
from briskml.collab.sample import movielens_sample


def run_demo(quick: bool = False, out: Path | None = None) -> DemoResult:
    """Train on the MovieLens sample (bundled); save collab_lr_find.png and collab_loss.png to out.

    Example:
        >>> result = run_demo(quick=True, out=Path("demo_out"))
        >>> result.metrics["rmse"]
    """
    ratings, movies = movielens_sample()
    data = CollabData.from_df(ratings, item_titles=movies, valid_pct=0.1, seed=42,
                              bs=256 if quick else 64)
    print(f"MovieLens sample: {data}")
    learn = collab_learner(data, n_factors=50, y_range=(0, 5.5), wd=0.1, seed=42)
    start = time.perf_counter()
    suggestion = learn.lr_find(num_it=50 if quick else 100)
    print(f"lr_find suggests valley={suggestion.valley:.2e}; training with the lesson's 5e-3")
    learn.fit_one_cycle(2 if quick else 5, 5e-3)
    seconds = time.perf_counter() - start
    _show_what_it_learned(learn, ratings)
    save_plots(learn, out, "collab")
    return DemoResult("collab: dot product on the MovieLens sample", learn.validate(), seconds)


def _show_what_it_learned(learn: object, ratings: pd.DataFrame) -> None:
    user = ratings["userId"].iloc[0]
    with pd.option_context("display.width", 120, "display.max_colwidth", 45):
        print(f"\nTop 5 recommendations for user {user}:")
        print(learn.recommend(user, n=5).to_string(index=False))
        print("\nLiked beyond their ratings (highest item bias, at least 50 ratings):")
        print(learn.top_items(by="bias", n=5, min_ratings=50).to_string(index=False))
        new_user = pd.DataFrame({"userId": [10**6], "movieId": [ratings["movieId"].iloc[0]]})
        print("\nA user never seen in training falls back to the average user:")
        print(learn.predict(new_user).to_string(index=False))
