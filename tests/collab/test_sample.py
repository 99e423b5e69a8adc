import numpy as np
import pandas as pd

from briskml.collab.sample import movie_features
from briskml.datasets import bundled_path


def test_the_bundled_sample_has_ratings_titles_and_its_licence(sample):
    ratings, movies = sample
    assert list(ratings.columns) == ["userId", "movieId", "rating"]
    assert ratings.userId.nunique() == 300 and ratings.movieId.nunique() == 300
    assert set(ratings.movieId) == set(movies.movieId)
    assert ratings.rating.between(0.5, 5.0).all()
    assert "GroupLens" in bundled_path("movielens_README.txt").read_text(encoding="utf-8")


def test_movie_features_are_genre_flags_and_the_year_of_the_title():
    movies = pd.DataFrame({"movieId": [1, 2], "title": ["Toy Story (1995)", "Untitled"],
                           "genres": ["Animation|Comedy", "(no genres listed)"]})
    features = movie_features(movies)
    assert list(features.columns) == ["Animation", "Comedy", "year"]
    assert features.loc[1].tolist() == [1, 1, 1995.0]
    assert features.loc[2, ["Animation", "Comedy"]].tolist() == [0, 0]
    assert np.isnan(features.loc[2, "year"])
    assert list(movies.columns) == ["movieId", "title", "genres"]     # the input is untouched
