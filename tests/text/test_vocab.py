"""Vocabulary: special tokens first, frequency order, limits, numericalisation, JSON files."""

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from briskml.errors import ConfigError, FileFormatError
from briskml.text import Vocab
from briskml.text.tokenizer.rules import SPECIAL_TOKENS

COUNTS = Counter({"the": 10, "movie": 5, "good": 5, "bad": 2, "rare": 1})


def test_special_tokens_come_first_with_unknown_0_and_padding_1():
    vocab = Vocab.from_counts(COUNTS)
    assert vocab.tokens[:len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert (vocab.unk_id, vocab.pad_id) == (0, 1)


def test_tokens_follow_by_frequency_then_first_appearance():
    vocab = Vocab.from_counts(COUNTS)
    assert vocab.tokens[len(SPECIAL_TOKENS):] == ["the", "movie", "good", "bad"]


def test_min_freq_drops_rare_tokens_and_max_vocab_caps_the_size():
    assert "bad" not in Vocab.from_counts(COUNTS, min_freq=3)
    small = Vocab.from_counts(COUNTS, max_vocab=len(SPECIAL_TOKENS) + 2)
    assert small.tokens[len(SPECIAL_TOKENS):] == ["the", "movie"]


def test_special_tokens_in_the_counts_are_not_repeated():
    vocab = Vocab.from_counts(Counter({"xxbos": 50, "the": 3}))
    assert vocab.tokens.count("xxbos") == 1 and vocab.tokens[-1] == "the"


def test_numericalize_maps_unknown_tokens_to_xxunk_and_textify_reverses():
    vocab = Vocab.from_counts(COUNTS)
    ids = vocab.numericalize(["the", "never-seen", "movie"])
    assert ids.dtype == torch.int64 and ids[1] == 0
    assert vocab.textify(ids) == "the xxunk movie"


def test_ids_are_stored_in_the_smallest_integer_type():
    assert Vocab.from_counts(COUNTS).dtype == np.uint16
    big = Vocab(list(SPECIAL_TOKENS) + [f"w{i}" for i in range(70_000)])
    assert big.dtype == np.int32


def test_vocab_round_trips_through_json(tmp_path):
    vocab = Vocab.from_counts(COUNTS)
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab


def test_loading_something_else_is_a_clear_error(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"tokens": []}')
    with pytest.raises(FileFormatError, match="not a briskml vocabulary"):
        Vocab.load(path)


def test_max_vocab_smaller_than_the_special_tokens_is_refused():
    with pytest.raises(ConfigError, match="max_vocab must be"):
        Vocab.from_counts(COUNTS, max_vocab=3)


def test_a_vocab_must_start_with_its_special_tokens():
    with pytest.raises(ConfigError, match="must start with its special tokens"):
        Vocab(["the", *SPECIAL_TOKENS])


def test_mismatched_special_tokens_are_reported():
    vocab = Vocab.from_counts(COUNTS)
    with pytest.raises(ConfigError, match="special tokens"):
        vocab.check_special_tokens(("xxunk", "xxpad", "xxbos"), "the tokenizer")


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=40))
def test_numericalize_then_textify_returns_every_in_vocab_token(tokens):
    vocab = Vocab.from_counts(Counter(tokens), min_freq=1)
    ids = vocab.numericalize(tokens)
    assert [vocab.tokens[i] for i in ids.tolist()] == tokens
