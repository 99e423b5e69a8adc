"""TextData: from DataFrames, CSV files and folders; vocab, labels, loaders, files, bad input."""

import numpy as np
import pandas as pd
import pytest
import torch

from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.splits import split_rows
from briskml.text import LMLoader, SentencePieceTokenizer, TextData, Vocab
from briskml.text.arrays import write_arrays

from .conftest import make_reviews


@pytest.fixture(scope="module")
def data_lm(reviews):
    return TextData.from_df(reviews, "text", for_lm=True, valid_pct=0.2, seed=0, bs=4, seq_len=8,
                            min_freq=1)


def test_language_model_data_serves_the_stream(data_lm):
    assert isinstance(data_lm.train, LMLoader) and data_lm.classes is None
    x, y = next(iter(data_lm.train))
    assert x.shape[0] == 4 and torch.equal(x[:, 1:], y[:, :-1])
    assert len(data_lm.train_docs) == 160 and len(data_lm.valid_docs) == 40


def test_the_same_seed_gives_the_same_split(reviews):
    first = TextData.from_df(reviews, "text", for_lm=True, seed=3, bs=4)
    second = TextData.from_df(reviews, "text", for_lm=True, seed=3, bs=4)
    assert np.array_equal(first.valid_docs, second.valid_docs)


def test_a_seeded_split_picks_the_rows_every_application_picks(reviews):
    # briskml.splits draws for tables, ratings and texts alike: same seed, same validation rows.
    data = TextData.from_df(reviews, "text", label_col="label", valid_pct=0.2, seed=7, bs=4)
    train, valid = split_rows(len(reviews), valid_pct=0.2, seed=7)
    assert np.array_equal(data.valid_docs, valid) and np.array_equal(data.train_docs, train)


def test_valid_idx_holds_the_validation_documents(data_lm, reviews):
    assert data_lm.valid_idx.dtype == np.int64
    assert np.array_equal(data_lm.valid_idx, data_lm.valid_docs)
    clas = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=4)
    assert np.array_equal(clas.valid_idx, np.flatnonzero(reviews["is_valid"]))
    none = TextData.from_df(reviews, "text", for_lm=True, valid_pct=0, bs=4)
    assert none.valid_docs is None and none.valid is None
    assert none.valid_idx.dtype == np.int64 and len(none.valid_idx) == 0


def test_a_tiny_corpus_still_gets_one_validation_document():
    df = pd.DataFrame({"text": ["one text here", "another text", "a third text"]})
    data = TextData.from_df(df, "text", for_lm=True, valid_pct=0.1, seed=0, bs=1, seq_len=2,
                            min_freq=1)
    assert len(data.valid_idx) == 1 and len(data.train_docs) == 2


def test_classifier_data_decodes_labels_and_shares_the_lm_vocab(reviews, data_lm):
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid",
                            vocab=data_lm.vocab, bs=16)
    assert data.vocab is data_lm.vocab and data.classes == ["negative", "positive"]
    assert np.array_equal(data.ids, data_lm.ids)
    tokens, labels = next(iter(data.valid))
    assert tokens.dtype == labels.dtype == torch.int64 and tokens.shape[0] == 16
    assert set(data.decode_labels(labels)) <= {"negative", "positive"}


def test_vocab_is_built_from_training_rows_only():
    df = pd.DataFrame({"text": ["common words here"] * 4 + ["zebra zebra"],
                       "label": ["a", "b", "a", "b", "a"],
                       "is_valid": [False] * 4 + [True]})
    data = TextData.from_df(df, "text", label_col="label", valid_col="is_valid", bs=2)
    assert "common" in data.vocab and "zebra" not in data.vocab


def test_several_text_columns_are_marked_as_fields():
    df = pd.DataFrame({"title": ["Fine"] * 4, "body": ["ok then"] * 4, "label": [0, 1, 0, 1]})
    data = TextData.from_df(df, ["title", "body"], label_col="label", valid_pct=0.25, seed=0,
                            bs=2, min_freq=1)
    assert data.show_batch(1)["text"][0] == "xxbos xxfld 1 xxmaj fine xxfld 2 ok then"


def test_show_batch_returns_decoded_text_and_labels(reviews):
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=8)
    frame = data.show_batch(3)
    assert list(frame.columns) == ["text", "label"] and len(frame) == 3
    assert frame["text"][0].startswith("xxbos")
    assert not data.show_batch(2, readable=True)["text"][0].startswith("xxbos")


def test_show_batch_of_a_language_model_shows_the_target(data_lm):
    assert list(data_lm.show_batch(2).columns) == ["text", "target"]


def test_backwards_reverses_every_document(reviews):
    forward = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=4)
    backward = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=4,
                                backwards=True, vocab=forward.vocab)
    (tokens, _), (reversed_tokens, _) = next(iter(forward.valid)), next(iter(backward.valid))
    length = int((tokens[0] != 1).sum())
    assert torch.equal(reversed_tokens[0, :length], tokens[0, :length].flip(0))
    assert reversed_tokens[0, length - 1] == forward.vocab.index["xxbos"]


def test_from_csv_reads_in_chunks_and_matches_from_df(reviews, tmp_path):
    path = tmp_path / "reviews.csv"
    reviews.to_csv(path, index=False)
    from_csv = TextData.from_csv(path, "text", label_col="label", valid_col="is_valid",
                                 chunksize=13, bs=8)
    from_df = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=8)
    assert from_csv.vocab == from_df.vocab and np.array_equal(from_csv.ids, from_df.ids)
    assert np.array_equal(from_csv.labels, from_df.labels)


def test_save_and_load_keep_everything_without_pickle(reviews, tmp_path):
    from safetensors import safe_open

    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=8)
    path = data.save(tmp_path / "reviews.textdata")
    with safe_open(str(path), framework="numpy") as handle:  # a plain safetensors file
        assert {"ids", "offsets", "labels", "train_docs", "valid_docs"} <= set(handle.keys())
    loaded = TextData.load(path)
    assert loaded.vocab == data.vocab and loaded.classes == data.classes
    assert np.array_equal(loaded.ids, data.ids) and np.array_equal(loaded.labels, data.labels)
    assert loaded.tokenizer("Hello") == data.tokenizer("Hello")
    assert TextData.load(path, bs=2).bs == 2


def test_add_test_serves_new_texts_sorted_with_their_order(reviews):
    data = TextData.from_df(reviews, "text", label_col="label", valid_col="is_valid", bs=4)
    loader = data.add_test(["Short.", "A much longer review than the other one.", "Mid one."])
    assert loader.has_target is False and data.test is loader
    (tokens,) = next(iter(loader))
    assert loader.order.tolist() == [1, 2, 0] and tokens.shape[0] == 3


# ----- folders ----------------------------------------------------------------------------
def write_folder(root, layout):
    for relative, texts in layout.items():
        folder = root / relative
        folder.mkdir(parents=True)
        for number, text in enumerate(texts):
            (folder / f"{number}.txt").write_text(text, encoding="utf-8")


@pytest.fixture
def imdb_folder(tmp_path):
    texts = make_reviews(24, seed=5)["text"].tolist()
    write_folder(tmp_path / "imdb", {"train/pos": texts[:6], "train/neg": texts[6:12],
                                     "train/unsup": texts[12:16], "test/pos": texts[16:20],
                                     "test/neg": texts[20:24]})
    return tmp_path / "imdb"


def test_from_folder_labels_by_folder_and_leaves_unlabelled_out(imdb_folder):
    data = TextData.from_folder(imdb_folder, bs=4)
    assert data.classes == ["neg", "pos"]
    assert len(data.train_docs) == 12 and len(data.valid_docs) == 8


def test_from_folder_for_a_language_model_uses_every_text(imdb_folder):
    data = TextData.from_folder(imdb_folder, for_lm=True, valid_pct=0.25, seed=0, bs=2,
                                seq_len=5)
    assert len(data) == 24 and len(data.valid_docs) == 6


def test_from_folder_include_limits_the_folders(imdb_folder):
    data = TextData.from_folder(imdb_folder, for_lm=True, include=["unsup"], valid=None,
                                bs=2, seq_len=5)
    assert len(data) == 4


def test_a_folder_without_text_files_is_named(tmp_path):
    (tmp_path / "empty" / "train" / "pos").mkdir(parents=True)
    with pytest.raises(DataError, match=r"No \.txt files found under '.*empty/train'"):
        TextData.from_folder(tmp_path / "empty", valid=None, classes=["pos"])


def test_a_file_that_is_not_utf8_is_refused_with_its_byte_offset_unless_replaced(imdb_folder):
    (imdb_folder / "train" / "pos" / "latin1.txt").write_bytes(b"Tr\xe8s bien, tr\xe8s bien.")
    with pytest.raises(DataError, match=r"latin1\.txt' is not valid UTF-8: .*0xE8 at byte "
                                        r"offset 2 \(line 1\).*encoding_errors='replace'"):
        TextData.from_folder(imdb_folder, bs=4)
    with pytest.warns(BriskWarning, match="latin1.txt"):
        data = TextData.from_folder(imdb_folder, bs=4, encoding_errors="replace")
    assert "\ufffd" in data.vocab.tokens or data.vocab.unk_id in data.ids
    with pytest.raises(ConfigError, match="encoding_errors must be one of"):
        TextData.from_folder(imdb_folder, bs=4, encoding_errors="ignore")


# ----- bad input ------------------------------------------------------------------------------
def test_missing_labels_are_counted_in_the_error(reviews):
    df = reviews.copy()
    df.loc[[3, 7, 9], "label"] = None
    with pytest.raises(DataError, match="label_col 'label' has 3 missing"):
        TextData.from_df(df, "text", label_col="label")


def test_a_validation_label_never_seen_in_training_is_an_error(reviews):
    df = reviews.copy()
    df.loc[0, "label"] = "neutral"  # row 0 is a validation row
    with pytest.raises(DataError, match=r"'neutral'.*never in training"):
        TextData.from_df(df, "text", label_col="label", valid_col="is_valid")


def test_the_users_dataframe_is_left_unchanged(reviews):
    before = reviews.copy()
    TextData.from_df(reviews, ["text"], label_col="label", valid_col="is_valid", bs=4)
    pd.testing.assert_frame_equal(reviews, before)


def test_a_vocab_with_other_special_tokens_is_refused(reviews):
    other = Vocab(["xxunk", "xxpad", "xxbos", "hello"], special_tokens=("xxunk", "xxpad", "xxbos"))
    with pytest.raises(ConfigError, match="special tokens"):
        TextData.from_df(reviews, "text", for_lm=True, vocab=other, bs=4)


@pytest.mark.parametrize("kwargs, message", [
    ({"label_col": "sentiment"}, r"Column 'sentiment' \(in label_col\) is not in the DataFrame"),
    ({}, "needs label_col"),
    ({"label_col": "label", "bs": 0}, "bs must be a positive integer"),
    ({"label_col": "label", "valid_pct": 1.5}, "valid_pct must be in"),
])
def test_bad_arguments_are_named(reviews, kwargs, message):
    with pytest.raises((ConfigError, DataError), match=message):
        TextData.from_df(reviews, "text", **kwargs)


def test_empty_texts_are_kept_and_counted(reviews):
    df = reviews.copy()
    df.loc[[1, 2], "text"] = [None, ""]
    with pytest.warns(BriskWarning, match="Column 'text': 2 of 200 texts are missing or empty "
                                          r"\(1 missing values \(None/NaN\), 1 empty"):
        data = TextData.from_df(df, "text", label_col="label", valid_col="is_valid", bs=4)
    assert data.lengths()[1] == data.lengths()[2] == 1


# ----- subwords -------------------------------------------------------------------------------
def test_sentencepiece_trains_on_the_training_texts_and_round_trips(tmp_path):
    df = make_reviews(120, seed=9)
    tokenizer = SentencePieceTokenizer(vocab_sz=200)
    data = TextData.from_df(df, "text", label_col="label", valid_col="is_valid",
                            tokenizer=tokenizer, bs=8, min_freq=1)
    assert tokenizer.is_fitted and data.vocab.tokens[:2] == ["xxunk", "xxpad"]
    pieces = tokenizer("I LOVED it!!!")
    assert "xxbos" in pieces and "xxup" in pieces and "xxrep" in pieces
    assert tokenizer.decode(pieces) == "I LOVED it!!!"
    loaded = TextData.load(data.save(tmp_path / "sp.textdata"))
    assert loaded.tokenizer("Some text.") == tokenizer("Some text.")
    # briskml 0.1.0 kept the tokenizer's options apart from its model (an array of the file),
    # named the built-in rules under briskml.text.rules and stored vocab and classes apart.
    options = {**tokenizer.options(),
               "rules": [name.replace("text.tokenizer.rules", "text.rules")
                         for name in tokenizer.options()["rules"]]}
    arrays = {"ids": np.asarray(data.ids), "offsets": data.offsets, "train_docs": data.train_docs,
              "valid_docs": data.valid_docs, "labels": data.labels,
              "sentencepiece_model": np.frombuffer(tokenizer.model, dtype=np.uint8)}
    meta = {"kind": "text_data", "vocab": data.vocab.to_dict(), "tokenizer": options,
            "classes": data.classes,
            "settings": {"for_lm": False, "bs": 8, "seq_len": 72, "backwards": False}}
    old = TextData.load(write_arrays(tmp_path / "old.textdata", arrays, meta))
    assert old.vocab == data.vocab and old.classes == data.classes
    assert old.tokenizer.options() == tokenizer.options()
    assert old.tokenizer("Some text.") == tokenizer("Some text.")


# ----- labels that are missing, invalid UTF-8, odd valid columns --------------------------------
@pytest.mark.parametrize("rows", [[0, 5], [3]], ids=["validation rows", "a training row"])
def test_a_missing_label_in_any_row_names_the_column_and_the_count(reviews, rows):
    df = reviews.copy()   # pandas 3: a str column, its missing values NaN
    df.loc[rows, "label"] = None
    with pytest.raises(DataError, match=rf"label_col 'label' has {len(rows)} missing value\(s\) "
                                        r"\(first rows: .*\); drop those rows"):
        TextData.from_df(df, "text", label_col="label", valid_col="is_valid")


def test_a_missing_label_in_a_csv_is_refused_before_tokenising(reviews, tmp_path):
    df = reviews.copy()
    df.loc[0, "label"] = None   # a validation row
    df.to_csv(tmp_path / "reviews.csv", index=False)
    with pytest.raises(DataError, match=r"label_col 'label' has 1 missing value\(s\)"):
        TextData.from_csv(tmp_path / "reviews.csv", "text", label_col="label",
                          valid_col="is_valid")


def test_a_csv_that_is_not_utf8_is_refused_with_its_byte_offset(reviews, tmp_path):
    path = tmp_path / "reviews.csv"
    reviews.to_csv(path, index=False)
    data = path.read_bytes()
    offset = len(data) - 10
    path.write_bytes(data[:offset] + b"\xff" + data[offset + 1:])
    line = data[:offset].count(b"\n") + 1
    with pytest.raises(DataError, match=rf"reviews\.csv' is not valid UTF-8: the byte\(s\) 0xFF "
                                        rf"at byte offset {offset} \(line {line}\)"):
        TextData.from_csv(path, "text", label_col="label", valid_col="is_valid")
    with pytest.warns(BriskWarning, match="reviews.csv"):
        replaced = TextData.from_csv(path, "text", label_col="label", valid_col="is_valid",
                                     encoding_errors="replace")
    assert len(replaced) == len(reviews)


@pytest.mark.parametrize("values", [["yes", "no"], ["True", "False"], [1, 0]])
def test_a_valid_column_of_text_or_numbers_chooses_the_validation_rows(reviews, values):
    df = reviews.copy()
    df["is_valid"] = [values[0] if i % 5 == 0 else values[1] for i in range(len(df))]
    data = TextData.from_df(df, "text", label_col="label", valid_col="is_valid", bs=8)
    assert data.valid_docs.tolist() == list(range(0, len(df), 5))


def test_a_valid_column_that_is_not_true_or_false_is_named(reviews):
    df = reviews.assign(is_valid=["maybe" if i == 3 else "no" for i in range(len(reviews))])
    with pytest.raises(DataError, match=r"valid_col 'is_valid' must hold .* the first is 'maybe' "
                                        "at row 3"):
        TextData.from_df(df, "text", label_col="label", valid_col="is_valid")
