"""Text fixtures: an isolated token cache, one shared tokenizer, synthetic and real reviews."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from briskml.text import Tokenizer

SHARED = Path(__file__).resolve().parents[3] / "shared"
IMDB_50K = SHARED / "data" / "imdb" / "imdb_50k.csv"
PEERS_RESULTS = SHARED / "peers" / "results.json"

_WORDS = ("the", "movie", "film", "story", "actor", "plot", "scene", "great", "bad", "boring",
          "funny", "good", "really", "one", "character", "time", "watch", "like", "love", "hate",
          "ending", "music", "director")
_PIECES = ("I", "A", "It's", "don't", "GREAT", "Wow", "!!!", "(really)", "U.S.", "e-mail",
           "<br /><br />", "&amp;", "so so so", "#1", "10/10", "McDonald", "...", "café")


def make_review(rng: random.Random, num_words: int) -> str:
    """A review-like text with capitals, punctuation, repeats and HTML artefacts."""
    words = []
    for position in range(num_words):
        word = rng.choice(_PIECES) if rng.random() < 0.15 else rng.choice(_WORDS)
        if position == 0 or rng.random() < 0.08:
            word = word.capitalize()
        words.append(word)
        if rng.random() < 0.1:
            words.append(rng.choice([".", ",", "!", "?"]))
    return " ".join(words)


def make_reviews(num_reviews: int, seed: int = 0) -> pd.DataFrame:
    """A labelled DataFrame of synthetic reviews: text, label, is_valid (every 5th row)."""
    rng = random.Random(seed)
    texts = [make_review(rng, rng.randint(5, 60)) for _ in range(num_reviews)]
    labels = ["positive" if "good" in text or "great" in text.lower() else "negative"
              for text in texts]
    return pd.DataFrame({"text": texts, "label": labels,
                         "is_valid": [i % 5 == 0 for i in range(num_reviews)]})


@pytest.fixture(scope="session", autouse=True)
def session_token_cache(tmp_path_factory) -> Iterator[Path]:
    """Module- and session-scoped fixtures cache their tokens in a temporary directory too."""
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("token_cache")
        patch.setenv("BRISKML_CACHE", str(directory))
        yield directory


@pytest.fixture(autouse=True)
def token_cache(tmp_path, monkeypatch) -> Path:
    """Each test gets its own token cache, so nothing is written to the user's home."""
    directory = tmp_path / "token_cache"
    monkeypatch.setenv("BRISKML_CACHE", str(directory))
    return directory / "tokens"


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """One word tokenizer for the session (spaCy loads once)."""
    return Tokenizer()


@pytest.fixture(scope="session")
def reviews() -> pd.DataFrame:
    """200 synthetic labelled reviews."""
    return make_reviews(200)


@pytest.fixture(scope="session")
def imdb_reviews() -> list[str]:
    """The first 300 real IMDb reviews (skips when ../shared is absent)."""
    if not IMDB_50K.is_file():
        pytest.skip(f"{IMDB_50K} is not available")
    return pd.read_csv(IMDB_50K, nrows=300)["review"].tolist()
