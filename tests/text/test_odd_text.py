"""Odd text never crashes the text pipeline and reads the same whatever holds it: empty and blank
strings, missing values, numbers, very long words, control characters, lone surrogates, RTL
scripts, emoji, combining marks and words spelt like the special tokens. Every path reads them by
one rule (`briskml.text.tokenizer.texts`): predict on a list = on a Series = on a DataFrame, and
what it says about them is one BriskWarning."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from briskml.errors import BriskWarning
from briskml.text import TextData, text_classifier_learner
from briskml.text.tokenizer.rules import SPECIAL_TOKENS
from briskml.text.tokenizer.texts import clean_text, clean_texts

from .conftest import make_reviews

TINY = dict(emb_sz=8, n_hid=16, n_layers=1)
PROPERTY = settings(max_examples=50, deadline=None)

_SPECIAL_SPELLINGS = st.sampled_from(SPECIAL_TOKENS).flatmap(
    lambda token: st.sampled_from([token, token.upper(), token.capitalize(), token * 2,
                                   f"<{token}>", f"{token}!"]))
_WORDS = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=6),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),   # lone surrogates
    st.text(st.sampled_from(list("שלוםעולםمرحبابالعالم\u200f\u200e")), max_size=10),
    st.text(st.sampled_from(list("😀🎬👍🏽\u200d❤️🇫🇷")), max_size=6),
    st.text(st.sampled_from(list("ae\u0301\u0308\u20dd\u0327o")), max_size=8),
    st.text(st.sampled_from("ab"), min_size=200, max_size=3000),         # a very long word
    _SPECIAL_SPELLINGS,
)
TEXTS = st.lists(_WORDS, max_size=5).map(" ".join)
VALUES = st.one_of(TEXTS, st.sampled_from(["", " ", "\n\t ", "\u3000"]), st.none(),
                   st.just(float("nan")), st.just(pd.NA), st.integers(-10**15, 10**15),
                   st.floats(allow_nan=True, allow_infinity=True), st.booleans())


@pytest.fixture(scope="module")
def learn():
    """An untrained tiny classifier: predictions only need to be computed, not good."""
    data = TextData.from_df(make_reviews(60, seed=3), "text", label_col="label",
                            valid_col="is_valid", bs=8, min_freq=1)
    return text_classifier_learner(data, config=TINY, seed=0, progress=False)


def _recorded(call):
    """(call's result, the warnings it gave)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [warning for warning in caught if warning.category is not ResourceWarning]


def _counted(values: list) -> int:
    """How many values the rule reads as empty, another type's text, or repairs."""
    return sum(1 for value in values if not isinstance(value, str) or not value.strip()
               or clean_text(value) != value)


@PROPERTY
@given(st.lists(VALUES, max_size=8))
def test_tokenize_and_numericalize_never_crash(learn, values):
    corpus, caught = _recorded(lambda: learn.tokenizer.tokenize(values, cache=False))
    assert len(corpus) == len(values)
    assert all(isinstance(token, str) and token for document in corpus for token in document)
    assert all(document[0] == "xxbos" for document in corpus)
    ids = learn.vocab.numericalize_corpus(corpus)
    assert len(ids) == corpus.num_tokens and (len(ids) == 0 or int(ids.max()) < len(learn.vocab))
    assert all(warning.category is BriskWarning for warning in caught)
    assert len(caught) == (1 if _counted(values) else 0)


@PROPERTY
@given(st.lists(VALUES, min_size=1, max_size=6))
def test_predict_reads_a_list_a_series_and_a_dataframe_alike(learn, values):
    from_list, list_warnings = _recorded(lambda: learn.predict(values))
    series = pd.Series(values, dtype=object, index=range(10, 10 + len(values)))
    from_series, series_warnings = _recorded(lambda: learn.predict(series))
    frame = pd.DataFrame({"text": series})
    from_frame, frame_warnings = _recorded(lambda: learn.predict(frame))
    assert from_series.index.tolist() == from_frame.index.tolist() == series.index.tolist()
    for other in (from_series, from_frame):
        assert other["prediction"].tolist() == from_list["prediction"].tolist()
        np.testing.assert_allclose(other.filter(like="probability_").to_numpy(),
                                   from_list.filter(like="probability_").to_numpy(), atol=1e-6)
    expected = 1 if _counted(values) else 0
    for caught in (list_warnings, series_warnings, frame_warnings):
        assert all(warning.category is BriskWarning for warning in caught)
        assert len(caught) == expected


@PROPERTY
@given(TEXTS | st.sampled_from(["", "  "]))
def test_one_text_predicts_what_it_predicts_in_a_list(learn, value):
    (label, probabilities), caught = _recorded(lambda: learn.predict(value))
    in_list, list_warnings = _recorded(lambda: learn.predict([value]))
    assert len(caught) == len(list_warnings) == (1 if _counted([value]) else 0)
    assert label == in_list["prediction"].iloc[0]
    assert math.isclose(probabilities[learn.classes[0]],
                        in_list[f"probability_{learn.classes[0]}"].iloc[0], abs_tol=1e-6)
    assert all(warning.category is BriskWarning for warning in caught)


def test_missing_texts_read_as_empty_texts_with_one_warning_naming_the_column(learn):
    texts = ["Loved it.", None, float("nan"), "", 42]
    with pytest.warns(BriskWarning) as caught:
        frame = learn.predict(pd.DataFrame({"text": texts}))
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "Column 'text': 3 of 5 texts are missing or empty (2 missing" in message
    assert "1 of 5 values are not strings (e.g. 42)" in message
    with pytest.warns(BriskWarning, match="1 of 1 texts are missing or empty"):
        empty = learn.predict([""])
    assert (frame.iloc[1:3].to_numpy() == empty.to_numpy()).all()   # None, NaN read as ""
    with pytest.warns(BriskWarning, match="3 of 4 texts are missing"):
        assert clean_texts([None, float("nan"), pd.NA, 7]) == ["", "", "", "7"]


def test_get_preds_on_test_texts_reads_missing_ones_as_empty(learn):
    with pytest.warns(BriskWarning, match="2 of 3 texts are missing or empty"):
        learn.data.add_test(pd.Series(["Great film.", None, float("nan")]))
    probabilities, _ = learn.get_preds("test")
    assert probabilities.shape == (3, 2)
    assert np.allclose(probabilities[1].numpy(), probabilities[2].numpy())


def test_numbers_in_a_training_text_column_are_counted_in_a_warning():
    df = make_reviews(40, seed=4).astype({"text": object})
    df.loc[[2, 5, 7], "text"] = [42, 3.5, True]
    with pytest.warns(BriskWarning, match=r"Column 'text': 3 of 40 values are not strings "
                                          r"\(e.g. 42, 3.5, True\)"):
        data = TextData.from_df(df, "text", label_col="label", valid_col="is_valid", bs=8,
                                min_freq=1)
    assert data.vocab.textify(data.ids[data.offsets[2]:data.offsets[3]]).endswith("42")
