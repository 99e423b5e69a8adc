"""The word tokenizer: special tokens, spaCy equivalence, parallelism, caching, inputs."""

import functools
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import spacy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from spacy.symbols import ORTH

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.text import Tokenizer
from briskml.text.tokenizer.base import BATCH_SIZE
from briskml.text.tokenizer.engine import WordEngine
from briskml.text.tokenizer.rules import SPECIAL_TOKENS, fix_html
from briskml.text.tokenizer.texts import clean_text

from ..conftest import PEERS_RESULTS, make_reviews


def test_tokens_carry_the_lessons_special_tokens(tokenizer):
    tokens = tokenizer("I LOVED it!!! Don't miss it, blah blah blah. A must-see")
    assert tokens == ["xxbos", "xxmaj", "i", "xxup", "loved", "it", "xxrep", "3", "!",
                      "xxmaj", "do", "n't", "miss", "it", ",", "xxwrep", "3", "blah", ".",
                      "xxmaj", "a", "must", "-", "see"]


def test_line_breaks_become_one_token_and_spaces_none(tokenizer):
    assert tokenizer("one<br /><br />two   three") == ["xxbos", "one", "\n\n", "two", "three"]


def test_repeated_word_with_different_case_is_not_a_repetition(tokenizer):
    assert "xxwrep" not in tokenizer("Blah blah blah")


def test_decode_gives_back_readable_text(tokenizer):
    text = "I LOVED it!!! Don't miss it, blah blah blah."
    assert tokenizer.decode(tokenizer(text)) == text


def test_add_eos_ends_each_document():
    assert Tokenizer(add_eos=True)("Hi.")[-1] == "xxeos"


def test_tokenize_df_marks_fields(tokenizer):
    df = pd.DataFrame({"title": ["Great"], "body": ["loved it"]})
    corpus = tokenizer.tokenize_df(df, ["title", "body"])
    assert corpus[0] == ["xxbos", "xxfld", "1", "xxmaj", "great", "xxfld", "2", "loved", "it"]


def test_tokenize_df_names_a_missing_column(tokenizer):
    with pytest.raises(DataError, match=r"'review' \(in text_cols\) is not in the DataFrame"):
        tokenizer.tokenize_df(pd.DataFrame({"text": ["a"]}), "review")


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ConfigError, match="lang='xx-nope'"):
        Tokenizer(lang="xx-nope")("hello")


def test_language_without_whitespace_segmentation_uses_spacy_directly():
    tokens = Tokenizer(lang="zh")("我喜欢这部电影")
    assert tokens[0] == "xxbos" and "".join(tokens[1:]) == "我喜欢这部电影"


def test_empty_and_missing_texts_are_kept_as_xxbos_and_counted(tokenizer):
    with pytest.warns(BriskWarning, match="3 of 4 texts are missing or empty"):
        corpus = tokenizer.tokenize(["", None, float("nan"), "fine"], cache=False)
    assert [corpus[i] for i in range(3)] == [["xxbos"]] * 3
    assert corpus[3] == ["xxbos", "fine"]


def test_parallel_tokenisation_keeps_order_and_equals_one_process():
    texts = make_reviews(BATCH_SIZE + 150, seed=1)["text"].tolist()
    serial = Tokenizer().tokenize(texts, n_workers=1, cache=False)
    parallel = Tokenizer().tokenize(texts, n_workers=2, cache=False)
    assert [parallel[i] for i in range(len(texts))] == [serial[i] for i in range(len(texts))]


def test_a_generator_is_read_lazily_and_tokenised(tokenizer):
    texts = (f"Review number {i}" for i in range(3))
    corpus = tokenizer.tokenize(texts)
    assert corpus[2] == ["xxbos", "xxmaj", "review", "number", "2"]


def test_second_tokenisation_loads_the_cache(tokenizer, token_cache, monkeypatch):
    texts = ["A first text.", "A second one!"]
    first = tokenizer.tokenize(texts)
    assert len(list(token_cache.glob("*.safetensors"))) == 1
    monkeypatch.setattr(Tokenizer, "_run", lambda *args: pytest.fail("tokenised again"))
    second = Tokenizer().tokenize(texts)
    assert second.tokens == first.tokens
    assert np.array_equal(second.ids, first.ids) and isinstance(second.ids, np.memmap)


def test_cache_key_depends_on_content_and_settings(tokenizer, token_cache):
    tokenizer.tokenize(["same text"])
    tokenizer.tokenize(["other text"])
    Tokenizer(add_eos=True).tokenize(["same text"])
    assert len(list(token_cache.glob("*.safetensors"))) == 3


def test_a_damaged_cache_entry_is_recomputed(tokenizer, token_cache):
    expected = tokenizer.tokenize(["Some text."])[0]
    entry = next(token_cache.glob("*.safetensors"))
    entry.write_bytes(b"garbage")
    with pytest.warns(BriskWarning, match="token cache entry .* is damaged"):
        assert Tokenizer().tokenize(["Some text."])[0] == expected


def test_cache_file_is_plain_safetensors(tokenizer, token_cache):
    from safetensors.numpy import load_file

    corpus = tokenizer.tokenize(["Hello there."])
    arrays = load_file(str(next(token_cache.glob("*.safetensors"))))
    assert np.array_equal(arrays["ids"], corpus.ids)


def test_tokenize_csv_reads_in_chunks_and_matches_the_dataframe(tokenizer, tmp_path, reviews):
    path = tmp_path / "reviews.csv"
    reviews.to_csv(path, index=False)
    from_csv = tokenizer.tokenize_csv(path, "text", chunksize=7)
    from_df = tokenizer.tokenize_df(reviews, "text")
    assert list(from_csv) == list(from_df)


def test_tokenize_files_refuses_files_that_are_not_utf8_unless_asked_to_replace(tokenizer,
                                                                               tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("Fine text.", encoding="utf-8")
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(DataError, match=r"bad\.txt' is not valid UTF-8: the byte\(s\) 0xE9 at "
                                        r"byte offset 3 \(line 1\)"):
        tokenizer.tokenize_files([good, bad])
    with pytest.warns(BriskWarning, match="bad.txt"):
        corpus = tokenizer.tokenize_files([good, bad], encoding_errors="replace")
    assert corpus[0] == ["xxbos", "xxmaj", "fine", "text", "."]
    assert "\ufffd" in "".join(corpus[1]) and corpus[1][-2:] == ["au", "lait"]


def test_a_single_string_is_refused_by_tokenize(tokenizer):
    with pytest.raises(ConfigError, match="collection of texts"):
        tokenizer.tokenize("one text")


def test_review_zero_matches_fastai_except_single_capitals(tokenizer):
    if not PEERS_RESULTS.is_file():
        pytest.skip(f"{PEERS_RESULTS} is not available")
    from ..conftest import IMDB_50K

    fastai = json.loads(PEERS_RESULTS.read_text())["text_tokenize_fastai"]
    review = pd.read_csv(IMDB_50K, nrows=1)["review"][0]
    ours = tokenizer(review)
    # Our one documented difference: "A formal" keeps its case as "xxmaj a formal".
    assert ours[:30] == fastai["first_60_tokens_review0"][:30]
    assert ours[30:32] == ["xxmaj", "a"]
    assert ours[31:60] == fastai["first_60_tokens_review0"][30:59]


# ----- equivalence with spaCy ----------------------------------------------------------------
@functools.cache
def _shared_tokenizer() -> Tokenizer:
    """One tokenizer for the property tests (built on first use, not at collection)."""
    return Tokenizer()


@functools.cache
def _plain_spacy() -> spacy.tokenizer.Tokenizer:
    """spaCy's own English tokenizer, untouched but for our special tokens."""
    nlp = spacy.blank("en")
    for token in SPECIAL_TOKENS:
        nlp.tokenizer.add_special_case(token, [{ORTH: token}])
    return nlp.tokenizer


def _spacy_reference(text: str, engine: WordEngine) -> list[str]:
    """spaCy run on the whole document, whitespace tokens normalised as ours are."""
    for rule in engine.word_rules:
        text = rule(text)
    tokens = [t.text.replace(" ", "") if t.text.isspace() else t.text for t in _plain_spacy()(text)]
    return [token for token in tokens if token]


def _our_raw_tokens(text: str, engine: WordEngine) -> list[str]:
    raw_ids, _ = engine._raw_tokens_memoised([engine._apply_document_rules(text)])
    names = list(engine.raw_index)
    return [names[i] for i in raw_ids.tolist()]


def test_memoised_tokens_equal_spacy_on_real_reviews(imdb_reviews):
    engine = Tokenizer().engine
    for text in imdb_reviews:
        document = engine._apply_document_rules(text)
        assert _our_raw_tokens(text, engine) == _spacy_reference(document, engine)


def _spacy_per_chunk(document: str, engine: WordEngine) -> list[str]:
    """spaCy run on each whitespace-free chunk alone: what the memoised tokenizer promises.

    (spaCy on a whole document can, rarely, re-split a chunk because of its neighbours, e.g.
    "shape:) )." gives ':', ')', ')' there but ':)' for the chunk "shape:)" alone.)
    """
    tokens: list[str] = []
    for chunk in re.findall(r"\S+|\s+", document):
        if chunk.isspace():
            tokens.extend([chunk.replace(" ", "")] if chunk.strip(" ") else [])
        else:
            tokens.extend(_spacy_reference(chunk, engine))
    return tokens


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("abcXYZ é'.,!?-:;()\"/#\n\t0123")) | st.characters(),
               max_size=60))
def test_memoised_tokens_equal_spacy_on_generated_text(text):
    engine = _shared_tokenizer().engine
    text = clean_text(text)  # as tokenize does: lone surrogates become U+FFFD
    document = engine._apply_document_rules(text)
    assert _our_raw_tokens(text, engine) == _spacy_per_chunk(document, engine)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=80))
def test_tokenizer_never_crashes_on_unicode(text):
    tokens = _shared_tokenizer()(text)
    assert tokens[0] == "xxbos" and all(isinstance(token, str) and token for token in tokens)


_WORD_CHARACTERS = re.compile(r"\w")


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="&;<>\\#@"), max_size=80))
@example(text="XXUP")            # words spelt like markers stay words (hypothesis found this one)
@example(text="xxmaj xxrep 3 a xxbos")
def test_decode_keeps_the_words(text):
    tokenizer = _shared_tokenizer()
    decoded = tokenizer.decode(tokenizer(text))
    expected = fix_html(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _word_characters(decoded) == _word_characters(expected)


def _word_characters(text: str) -> str:
    return "".join(_WORD_CHARACTERS.findall(text.casefold()))


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[(\"']?[A-Za-z]{1,6}[.,!?;:)\"']?", fullmatch=True))
def test_words_settled_without_spacy_are_split_as_spacy_splits_them(chunk):
    tokens = _shared_tokenizer().engine._plain_word_tokens(chunk)
    if tokens is not None:
        assert tokens == [token.text for token in _plain_spacy()(chunk)]


def test_files_tokenised_in_parallel_keep_order_and_name_bad_files(tmp_path):
    texts = make_reviews(BATCH_SIZE + 20, seed=2)["text"].tolist()
    paths = []
    for number, text in enumerate(texts):
        paths.append(tmp_path / f"{number:04d}.txt")
        paths[-1].write_text(text, encoding="utf-8")
    paths[BATCH_SIZE + 3].write_bytes(b"na\xefve review")  # in the second batch
    with pytest.raises(DataError, match=f"{BATCH_SIZE + 3:04d}.txt' is not valid UTF-8"):
        Tokenizer().tokenize_files(paths, n_workers=2, cache=False)   # raised in a worker
    with pytest.warns(BriskWarning, match=f"{BATCH_SIZE + 3:04d}.txt"):
        parallel = Tokenizer().tokenize_files(paths, n_workers=2, cache=False,
                                              encoding_errors="replace")
    with pytest.warns(BriskWarning):
        serial = Tokenizer().tokenize_files(paths, n_workers=1, cache=False,
                                            encoding_errors="replace")
    assert list(parallel) == list(serial) and len(parallel) == len(paths)
