"""Synthetic movie reviews: a labelled text corpus briskml can ship and anyone can regenerate.

The IMDb reviews the lessons use may not be redistributed (their text belongs to IMDb), so the
README, the tests and the demo use reviews generated here from a fixed grammar: sentences about
films with opinion words, negations ("not great"), capitals, ALL-CAPS words, repeated punctuation,
contractions and `<br />` tags, so every rule of the tokenizer has something to do and the label is
learnable but not given away by a single word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_SUBJECTS = ["the film", "this movie", "the plot", "the acting", "the script", "the ending",
             "the soundtrack", "the director", "the cast", "the pacing", "the dialogue",
             "the camera work", "the story", "the lead actress", "the villain"]
_POSITIVE = ["great", "wonderful", "moving", "brilliant", "funny", "clever", "beautiful",
             "gripping", "charming", "superb", "touching", "fresh"]
_NEGATIVE = ["boring", "awful", "clumsy", "dull", "predictable", "silly", "weak", "tedious",
             "messy", "lifeless", "confusing", "flat"]
_FILLERS = ["I watched it last weekend with my family.", "It runs a little over two hours.",
            "The trailer gave away too much.", "My friend recommended it to me.",
            "It was shown at a festival in Berlin.", "I saw it on TV.", "It is based on a novel.",
            "The cinema was half empty.", "Some scenes were shot in New York."]
_CLOSERS_POSITIVE = ["Don't miss it", "I'd watch it again", "Highly recommended", "A real gem",
                     "See it on a big screen"]
_CLOSERS_NEGATIVE = ["Don't bother", "I wouldn't watch it again", "Skip this one",
                     "What a waste of time", "Avoid it"]


def synthetic_reviews(num_reviews: int = 1000, seed: int = 0,
                      valid_fraction: float = 0.2) -> pd.DataFrame:
    """Generated reviews as a DataFrame: `label` (positive/negative), `text`, `is_valid`.

    Example:
        >>> df = synthetic_reviews(200, seed=1)
        >>> df.columns.tolist()
        ['label', 'text', 'is_valid']
    """
    generator = np.random.default_rng(seed)
    labels = generator.random(num_reviews) < 0.5
    texts = [_review(bool(positive), generator) for positive in labels]
    is_valid = np.zeros(num_reviews, dtype=bool)
    is_valid[generator.permutation(num_reviews)[:round(num_reviews * valid_fraction)]] = True
    return pd.DataFrame({"label": np.where(labels, "positive", "negative"), "text": texts,
                         "is_valid": is_valid})


def _review(positive: bool, generator: np.random.Generator) -> str:
    num_sentences = int(generator.integers(3, 9))
    sentences = [_sentence(positive, generator) for _ in range(num_sentences)]
    if generator.random() < 0.6:  # a closing verdict, usually (not always) matching the label
        closers = _CLOSERS_POSITIVE if positive == (generator.random() < 0.85) \
            else _CLOSERS_NEGATIVE
        ending = "!" * int(generator.choice([1, 1, 3, 4])) if generator.random() < 0.5 else "."
        sentences.append(closers[int(generator.integers(len(closers)))] + ending)
    separator = " <br /><br />" if generator.random() < 0.3 else " "
    return separator.join(sentences)


def _sentence(positive: bool, generator: np.random.Generator) -> str:
    if generator.random() < 0.25:
        return _FILLERS[int(generator.integers(len(_FILLERS)))]
    # Most sentences agree with the review's label; some disagree, and some say it with a
    # negation ("not boring"), so one word never decides the label.
    agrees = generator.random() < 0.8
    negated = generator.random() < 0.2
    opinion_is_positive = (positive == agrees) != negated
    words = _POSITIVE if opinion_is_positive else _NEGATIVE
    word = words[int(generator.integers(len(words)))]
    if generator.random() < 0.1:
        word = word.upper()
    subject = _SUBJECTS[int(generator.integers(len(_SUBJECTS)))]
    verb = "wasn't" if negated else "was"
    intensifier = "really " if generator.random() < 0.3 else ""
    return f"{subject.capitalize()} {verb} {intensifier}{word}."
