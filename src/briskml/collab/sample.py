"""The bundled MovieLens sample and the movie features the hybrid model uses (genres, year).

The sample is the 300 most-rated movies of MovieLens latest-small and the 300 users who rated the
most of them (27,133 ratings), shipped with the GroupLens licence (movielens_README.txt) and a note
on how it was made (movielens_sample_NOTICE.txt).
"""

from __future__ import annotations

import pandas as pd

from briskml.datasets import bundled_path


def movielens_sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings, movies): userId, movieId, rating; and movieId, title, genres.

    Example:
        >>> ratings, movies = movielens_sample()
        >>> data = CollabData.from_df(ratings, item_titles=movies, valid_pct=0.1, seed=42)
    """
    ratings = pd.read_csv(bundled_path("movielens_sample_ratings.csv.gz"))
    movies = pd.read_csv(bundled_path("movielens_sample_movies.csv.gz"))
    return ratings, movies


def movie_features(movies: pd.DataFrame) -> pd.DataFrame:
    """Side features of MovieLens movies: one 0/1 column per genre and the year from the title.

    Returns a frame indexed by movieId; the year is missing (NaN) where the title has none.

    Example:
        >>> movie_features(movies).loc[1]     # Toy Story (1995): Adventure, Animation ...
    """
    genres = movies["genres"].str.get_dummies(sep="|")
    genres = genres.drop(columns=["(no genres listed)"], errors="ignore")
    year = movies["title"].str.extract(r"\((\d{4})\)\s*$", expand=False).astype(float)
    features = genres.assign(year=year)
    features.index = pd.Index(movies["movieId"], name="movieId")
    return features
