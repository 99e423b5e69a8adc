"""Lesson 5, collaborative filtering on MovieLens, end to end with briskml.

1. Ratings to CollabData (titles merged in), lr_find, and the lesson's recipe: n_factors=50,
   y_range=(0, 5.5), wd=0.1, fit_one_cycle(5, 5e-3).
2. What the model learned: the movies liked beyond their ratings (item biases), the principal
   directions of the item factors (PCA map), nearest movies, recommendations.
3. Cold start: predictions for a user and a movie never seen in training (fallback), and the hybrid
   model that reads a new movie's genres and year.
4. Export, load_learner, predict.

Uses MovieLens latest-small from --data (default ../shared/data/movielens-latest-small) when it is
there, else the bundled sample.

Run: python examples/collab_movielens.py [--data DIR] [--out DIR] [--tiny]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import briskml as bm
from briskml.collab import CollabData, CollabLearner, collab_learner
from briskml.collab.sample import movie_features, movielens_sample

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-latest-small"


def load(data_dir: Path, tiny: bool) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(ratings, movies, where they came from): the full dataset, or the bundled sample."""
    if not tiny and (data_dir / "ratings.csv").exists():
        ratings = pd.read_csv(data_dir / "ratings.csv")[["userId", "movieId", "rating"]]
        return ratings, pd.read_csv(data_dir / "movies.csv"), str(data_dir)
    ratings, movies = movielens_sample()
    return ratings, movies, "the bundled MovieLens sample"


def train(ratings: pd.DataFrame, movies: pd.DataFrame, tiny: bool, out: Path) -> CollabLearner:
    """The lesson's recipe, after a look at the data and the learning-rate finder."""
    data = CollabData.from_df(ratings, item_titles=movies, valid_pct=0.1, seed=42,
                              bs=1024 if tiny else 64)
    print(data)
    print(data.show_batch(5).to_string(index=False))
    learn = collab_learner(data, n_factors=50, y_range=(0, 5.5), wd=0.1, seed=42, path=out)
    found = learn.lr_find(num_it=30 if tiny else 100)
    print(f"lr_find: valley {found.valley:.1e}; the lesson trains at 5e-3")
    found.plot(out / "lr_find.png")
    learn.fit_one_cycle(1 if tiny else 5, 5e-3)
    return learn


def interpret(learn: CollabLearner, out: Path) -> None:
    """Biases, the PCA map, neighbours and recommendations."""
    print("\nMovies liked beyond their ratings (highest bias, 50+ ratings):")
    print(learn.top_items(by="bias", n=10, min_ratings=50).to_string())
    print("\nAnd the least liked beyond their ratings:")
    print(learn.top_items(by="bias", n=5, min_ratings=50, ascending=True).to_string())
    positions = learn.pca(n_components=3)
    print("\nFirst principal direction of the item factors, both ends:")
    ordered = positions.sort_values("pc_0")
    print(pd.concat([ordered.head(5), ordered.tail(5)])[["title", "pc_0"]].to_string())
    learn.plot_pca(components=(0, 2), path=out / "movies_pca.png")
    print("\nClosest to Toy Story (1995), by cosine of the factors:")
    print(learn.similar_items(1, n=5).to_string(index=False))
    user = int(learn.data.users[0])
    print(f"\nTop recommendations for user {user}:")
    print(learn.recommend(user, n=5).to_string(index=False))


def cold_start(learn: CollabLearner, ratings: pd.DataFrame, movies: pd.DataFrame,
               tiny: bool) -> None:
    """A new user and a new movie: the fallback, then the hybrid with the movie's features."""
    user = int(learn.data.users[0])
    new_movie = movie_features(movies).iloc[[0]].assign(year=2030.0)
    new_movie.index = pd.Index([10**7], name="movieId")
    pairs = pd.DataFrame({"userId": [10**7, user], "movieId": [1, 10**7]})
    print("\nFallback for a new user and a new movie:")
    print(learn.predict(pairs).to_string(index=False))
    data = CollabData.from_df(ratings, item_titles=movies, valid_pct=0.1, seed=42,
                              bs=1024 if tiny else 256, item_features=movie_features(movies))
    hybrid = collab_learner(data, n_factors=50, y_range=(0, 5.5), wd=0.1, use_features=True,
                            seed=42)
    hybrid.fit_one_cycle(1 if tiny else 5, 5e-3)
    print("The hybrid reads the new movie's genres and year:")
    print(hybrid.predict(pairs, item_features=new_movie).to_string(index=False))


def export_and_reload(learn: CollabLearner, out: Path) -> None:
    """One file holds weights, ids and titles; load_learner predicts without the ratings."""
    path = learn.export(out / "movielens.brisk", overwrite=True)
    loaded = bm.load_learner(path)
    pairs = pd.DataFrame({"userId": [int(learn.data.users[0])], "movieId": [1]})
    print(f"\nReloaded from {path.name}:", loaded.predict(pairs).prediction.round(3).tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("collab_out"))
    parser.add_argument("--tiny", action="store_true", help="bundled sample, one epoch (a test)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ratings, movies, source = load(args.data, args.tiny)
    print(f"Ratings from {source}: {len(ratings):,}")
    learn = train(ratings, movies, args.tiny, args.out)
    interpret(learn, args.out)
    cold_start(learn, ratings, movies, args.tiny)
    export_and_reload(learn, args.out)


if __name__ == "__main__":
    main()
