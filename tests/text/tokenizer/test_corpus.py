"""Tokenised corpora as flat arrays, and the cache keys."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from briskml.text.tokenizer.corpus import (
    TokenizedCorpus,
    ragged_ranges,
    text_cache_key,
    token_positions,
)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=12))
def test_ragged_ranges_equal_concatenated_ranges(pairs):
    starts, lengths = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    expected = [i for start, n in pairs for i in range(start, start + n)]
    assert ragged_ranges(starts, lengths).tolist() == expected


def test_token_positions_read_documents_forwards_or_backwards():
    offsets = np.array([0, 3, 5])
    assert token_positions(offsets, np.array([1, 0])).tolist() == [3, 4, 0, 1, 2]
    assert token_positions(offsets, np.array([1, 0]), backwards=True).tolist() == [4, 3, 2, 1, 0]


def test_corpus_gives_tokens_lengths_and_counts():
    corpus = TokenizedCorpus(["xxbos", "a", "b"], np.array([0, 1, 1, 0, 2]), np.array([0, 3, 5]))
    assert corpus[1] == ["xxbos", "b"] and corpus.lengths.tolist() == [3, 2]
    assert corpus.counts().tolist() == [2, 2, 1]
    assert corpus.counts(np.array([1])).tolist() == [1, 0, 1]


def test_cache_key_separates_document_boundaries():
    settings = {"kind": "word"}
    assert text_cache_key(settings, ["ab", "c"]) != text_cache_key(settings, ["a", "bc"])
    assert text_cache_key(settings, ["ab"]) != text_cache_key({"kind": "other"}, ["ab"])
