"""The lessons' text rules: HTML fix-ups, repetitions, capitals, decoding."""

import pytest

from briskml.text.tokenizer.rules import (
    SPECIAL_TOKENS,
    apply_capitals,
    capitals_marker,
    decode_tokens,
    escape_marker_words,
    fix_html,
    replace_rep,
    replace_wrep,
    spec_add_spaces,
    split_rules,
    undo_special_tokens,
)


def test_special_tokens_put_unknown_and_padding_first():
    assert SPECIAL_TOKENS[:2] == ("xxunk", "xxpad")
    assert set(SPECIAL_TOKENS) >= {"xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"}


@pytest.mark.parametrize("raw, fixed", [
    ("a<br /><br />b", "a\n\nb"),
    ("it#39;s", "it's"),
    ("fish &amp; chips", "fish & chips"),
    ("x nbsp;y", "x  y"),
    ("quot;hi quot;", "'hi '"),
    ("line\\nbreak", "line\nbreak"),
    ("a @-@ b @.@ c", "a-b.c"),
    ("<unk>", "xxunk"),
    ("&lt;tag&gt;", "<tag>"),
])
def test_fix_html_undoes_the_lessons_artefacts(raw, fixed):
    assert fix_html(raw) == fixed


def test_replace_rep_marks_characters_repeated_three_times():
    assert replace_rep("wow!!!!") == "wow xxrep 4 ! "
    assert replace_rep("good!!") == "good!!"


def test_replace_wrep_marks_words_repeated_three_times():
    expected = ["it", "was", "xxwrep", "3", "so", "good"]
    assert replace_wrep("it was so so so good").split() == expected


def test_spec_add_spaces_separates_slashes_and_hashes():
    assert spec_add_spaces("10/10 #1").split() == ["10", "/", "10", "#", "1"]


def test_word_level_rules_are_split_from_document_rules():
    document, words = split_rules([fix_html, replace_rep, spec_add_spaces])
    assert document == (fix_html,) and words == (replace_rep, spec_add_spaces)


@pytest.mark.parametrize("token, marker", [
    ("Story", "xxmaj"), ("WHOLE", "xxup"), ("U.S.", "xxup"), ("A", "xxmaj"), ("I", "xxmaj"),
    ("story", None), ("McDonald", None), ("123", None), ("Éclair", "xxmaj"), ("ÉCOLE", "xxup"),
])
def test_capitals_marker_follows_the_lessons_and_marks_single_capitals(token, marker):
    assert capitals_marker(token) == marker


def test_apply_capitals_marks_and_lowers_each_word():
    assert apply_capitals("A GREAT Film\nindeed", {}) == "xxmaj a xxup great xxmaj film\nindeed"


def test_decode_restores_case_repetitions_and_punctuation():
    tokens = ["xxbos", "xxmaj", "i", "do", "n't", "like", "it", ",", "xxwrep", "3", "xxmaj",
              "blah", ".", "\n\n", "xxmaj", "it", "'s", "(", "really", ")", "xxup", "bad",
              "xxrep", "4", "!"]
    assert decode_tokens(tokens) == "I don't like it, Blah Blah Blah.\n\nIt's (really) BAD!!!!"


def test_decode_drops_case_markers_with_no_word_after_them():
    assert decode_tokens(["xxbos", "xxmaj", "the", "film", ".", "xxmaj"]) == "The film."
    assert decode_tokens(["the", "xxmaj", "xxmaj", "touching"]) == "the Touching"
    assert decode_tokens(["xxup", "xxbos", "xxmaj", "a"]) == "A"


def test_decode_drops_markers_and_keeps_unknown_words_visible():
    assert undo_special_tokens("xxbos xxfld 1 xxmaj xxunk xxpad xxpad") == "xxunk"


def test_words_spelt_like_markers_are_kept_apart_from_the_markers():
    assert escape_marker_words("XXUP and xxrep, Xxbos") == "XX-UP and xx-rep, Xx-bos"
    assert escape_marker_words("xxunk xxfld 1 xxupper") == "xxunk xxfld 1 xxupper"
