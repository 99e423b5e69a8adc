"""TextData: documents tokenised once, numericalised, split, and served by text loaders.

Example:
    >>> data_lm = TextData.from_df(df, text_cols="text", for_lm=True, bs=64, seq_len=72)
    >>> data_clas = TextData.from_df(df, text_cols="text", label_col="label",
    ...                              valid_col="is_valid", vocab=data_lm.vocab, bs=32)
    >>> data_clas.show_batch(3)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from briskml.checks import check_positive_int
from briskml.encoding import check_encoding_errors, decode_utf8, read_csv_utf8
from briskml.errors import ConfigError
from briskml.frames import check_columns
from briskml.splits import split as split_positions
from briskml.splits import valid_col_mask
from briskml.text.arrays import write_arrays
from briskml.text.data_file import read_text_data
from briskml.text.labels import encode_labels
from briskml.text.loaders import ClassificationLoader, LMLoader
from briskml.text.pipeline import TextPipeline
from briskml.text.tokenizer import BaseTokenizer, TokenizedCorpus, Tokenizer, join_fields
from briskml.text.vocab import Vocab


@dataclass(frozen=True)
class TextSettings:
    """How the loaders serve the data (the lessons' names)."""

    for_lm: bool = False
    bs: int = 64
    seq_len: int = 72
    backwards: bool = False

    def __post_init__(self) -> None:
        check_positive_int(self.bs, "bs")
        check_positive_int(self.seq_len, "seq_len")


class TextData:
    """Tokenised texts, their pipeline (tokenizer, vocabulary, classes, direction) and labels,
    with loaders for a language model or a classifier (`train`, `valid`, and `test` once
    `add_test` is called).

    Build with `from_df`, `from_csv` or `from_folder`; `save`/`load` keep everything (no pickle).
    `train_docs` and `valid_docs` (None without validation documents) are document positions;
    `valid_idx` is `valid_docs` as an array that is empty when there are none.

    Example:
        >>> data = TextData.from_df(df, text_cols="text", label_col="label", valid_pct=0.1, seed=42)
        >>> data.vocab, data.classes, data.valid_idx
        >>> tokens, labels = next(iter(data.train))
    """

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, vocab: Vocab,
                 tokenizer: BaseTokenizer, train_docs: np.ndarray,
                 valid_docs: np.ndarray | None = None, labels: np.ndarray | None = None,
                 classes: Sequence[Any] | None = None,
                 settings: TextSettings = TextSettings()) -> None:
        # ids may be a memory map (loaded files); the small arrays are copied into memory.
        self.ids, self.offsets = ids, np.array(offsets, dtype=np.int64)
        self.pipeline = TextPipeline(tokenizer, vocab, classes, settings.backwards)
        self.train_docs = np.array(train_docs, dtype=np.int64)
        self.valid_docs = None
        if valid_docs is not None and len(valid_docs):
            self.valid_docs = np.array(valid_docs, dtype=np.int64)
        self.labels = None if labels is None else np.array(labels, dtype=np.int64)
        self.settings = settings
        if not settings.for_lm and (self.labels is None or classes is None):
            raise ConfigError("A classifier needs labels: pass label_col=..., or for_lm=True for "
                              "a language model.")
        self._id_tensor = torch.from_numpy(np.asarray(ids).astype(np.int32))
        self.train = self._loader(self.train_docs, shuffle=True)
        self.valid = None
        if self.valid_docs is not None:
            self.valid = self._loader(self.valid_docs, shuffle=False)
        self.test: Any = None

    @property
    def vocab(self) -> Vocab:
        """The vocabulary (the pipeline's)."""
        return self.pipeline.vocab

    @property
    def tokenizer(self) -> BaseTokenizer:
        """The tokenizer (the pipeline's)."""
        return self.pipeline.tokenizer

    @property
    def classes(self) -> list[Any] | None:
        """A classifier's classes, sorted (None for language-model data)."""
        return self.pipeline.classes

    @property
    def valid_idx(self) -> np.ndarray:
        """Positions of the validation documents (int64; empty when there are none)."""
        return self.valid_docs if self.valid_docs is not None else np.zeros(0, dtype=np.int64)

    # ----- building ------------------------------------------------------------------------------
    @classmethod
    def from_df(cls, df: pd.DataFrame, text_cols: str | Sequence[str],
                label_col: str | None = None, valid_col: str | None = None,
                valid_pct: float = 0.1, seed: int | None = None, for_lm: bool = False,
                vocab: Vocab | None = None, tokenizer: BaseTokenizer | None = None,
                bs: int = 64, seq_len: int = 72, backwards: bool = False,
                max_vocab: int = 60000, min_freq: int = 2,
                n_workers: int | None = None) -> TextData:
        """Tokenise `text_cols` of a DataFrame (cached), build or reuse a vocab, split, batch.

        Several text columns are joined with `xxfld n` before each field. Validation rows come
        from the boolean `valid_col`, else a random `valid_pct` (seeded by `seed`).

        Example:
            >>> data_lm = TextData.from_df(df, text_cols="text", for_lm=True, valid_pct=0.1)
            >>> data = TextData.from_df(df, "text", label_col="label", valid_col="is_valid",
            ...                         vocab=data_lm.vocab)
        """
        settings = TextSettings(for_lm, bs, seq_len, backwards)
        text_columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
        split, labels = _split_and_labels(df, label_col, valid_col, valid_pct, seed, for_lm,
                                          text_columns)
        tokenizer = tokenizer or Tokenizer()
        texts = join_fields(df, text_columns)   # one warning for missing, empty, non-strings
        tokenizer.prepare([texts[i] for i in split[0].tolist()])
        corpus = tokenizer.tokenize(texts, n_workers=n_workers, checked=True)
        return cls._from_corpus(corpus, tokenizer, split, labels, vocab, max_vocab, min_freq,
                                settings)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, text_cols: str | Sequence[str],
                 label_col: str | None = None, valid_col: str | None = None,
                 valid_pct: float = 0.1, seed: int | None = None, for_lm: bool = False,
                 vocab: Vocab | None = None, tokenizer: BaseTokenizer | None = None,
                 bs: int = 64, seq_len: int = 72, backwards: bool = False,
                 max_vocab: int = 60000, min_freq: int = 2, n_workers: int | None = None,
                 chunksize: int = 10_000, encoding_errors: str = "strict") -> TextData:
        """Like `from_df` for a CSV file, whose text is read `chunksize` rows at a time. Bytes
        that are not UTF-8 are refused, naming the byte offset, unless `encoding_errors=
        "replace"` (read as U+FFFD, with a warning).

        Example:
            >>> data = TextData.from_csv("texts.csv", "text", label_col="label",
            ...                          valid_col="is_valid")
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No such CSV file: '{path}'.")
        check_encoding_errors(encoding_errors)
        text_columns = [text_cols] if isinstance(text_cols, str) else list(text_cols)
        columns = [column for column in (label_col, valid_col) if column is not None]
        tokenizer = tokenizer or Tokenizer()
        if not tokenizer.is_fitted:  # a subword model trains on text held in memory
            frame = read_csv_utf8(path, text_columns + columns, encoding_errors)
            return cls.from_df(frame, text_columns, label_col, valid_col, valid_pct, seed, for_lm,
                               vocab, tokenizer, bs, seq_len, backwards, max_vocab, min_freq,
                               n_workers)
        settings = TextSettings(for_lm, bs, seq_len, backwards)
        frame = read_csv_utf8(path, columns, encoding_errors) if columns else None
        # Check labels and split before the long part when there are columns to check.
        checked = None if frame is None else _split_and_labels(frame, label_col, valid_col,
                                                               valid_pct, seed, for_lm)
        corpus = tokenizer.tokenize_csv(path, text_columns, chunksize=chunksize,
                                        n_workers=n_workers, encoding_errors=encoding_errors)
        if checked is None:
            frame = pd.DataFrame(index=pd.RangeIndex(len(corpus)))
            checked = _split_and_labels(frame, None, None, valid_pct, seed, for_lm)
        return cls._from_corpus(corpus, tokenizer, *checked, vocab, max_vocab, min_freq, settings)

    @classmethod
    def from_folder(cls, path: str | os.PathLike, train: str = "train",
                    valid: str | None = "test", classes: Sequence[str] | None = None,
                    include: Sequence[str] | None = None, for_lm: bool = False,
                    valid_pct: float = 0.1, seed: int | None = None,
                    tokenizer: BaseTokenizer | None = None, vocab: Vocab | None = None,
                    bs: int = 64, seq_len: int = 72, backwards: bool = False,
                    max_vocab: int = 60000, min_freq: int = 2,
                    n_workers: int | None = None, encoding_errors: str = "strict") -> TextData:
        """Texts from the IMDb folder layout: `path/train/<class>/*.txt`, `path/test/<class>/...`.

        A classifier takes its labels from the folder names (`classes`, by default the folders
        found under both `train` and `valid`, so `train/unsup` is left out) and validates on
        `valid`. A language model (`for_lm=True`) uses every text under `train` and `valid`
        (unlabelled ones too; `include` limits the folders) and splits off a fresh `valid_pct`.
        A file that is not UTF-8 is refused, naming it and the byte offset, unless
        `encoding_errors="replace"` (its bad bytes are read as U+FFFD, with a warning).

        Example:
            >>> data_lm = TextData.from_folder("aclImdb", for_lm=True, valid_pct=0.1, seed=42)
            >>> data = TextData.from_folder("aclImdb", vocab=data_lm.vocab)
        """
        from briskml.text.folders import list_text_files

        settings = TextSettings(for_lm, bs, seq_len, backwards)
        check_encoding_errors(encoding_errors)
        listing = list_text_files(Path(path), train, valid, classes, include, for_lm)
        tokenizer = tokenizer or Tokenizer()
        if for_lm:
            split = split_positions(len(listing.files), valid_pct=valid_pct, seed=seed,
                                    what="documents")
            labels = None
        else:
            split = (listing.train_docs, listing.valid_docs)
            labels = encode_labels(pd.Series(listing.labels), split[0], "the class folders")
        tokenizer.prepare(_read_texts([listing.files[i] for i in split[0].tolist()],
                                      encoding_errors))
        corpus = tokenizer.tokenize_files(listing.files, n_workers=n_workers,
                                          encoding_errors=encoding_errors)
        return cls._from_corpus(corpus, tokenizer, split, labels, vocab, max_vocab, min_freq,
                                settings)

    @classmethod
    def _from_corpus(cls, corpus: TokenizedCorpus, tokenizer: BaseTokenizer,
                     split: tuple[np.ndarray, np.ndarray | None],
                     labels: tuple[np.ndarray, list[Any]] | None, vocab: Vocab | None,
                     max_vocab: int, min_freq: int, settings: TextSettings) -> TextData:
        train_docs, valid_docs = split
        if vocab is None:
            vocab = Vocab.from_corpus(corpus, max_vocab, min_freq, documents=train_docs,
                                      special_tokens=tokenizer.special_tokens)
        elif not isinstance(vocab, Vocab):
            raise ConfigError(f"vocab must be a briskml Vocab (e.g. data_lm.vocab); got "
                              f"{type(vocab).__name__}.")
        else:
            vocab.check_special_tokens(tokenizer.special_tokens, "the tokenizer")
        ids = vocab.numericalize_corpus(corpus)
        codes, classes = labels if labels is not None else (None, None)
        return cls(ids, corpus.offsets, vocab, tokenizer, train_docs, valid_docs, codes, classes,
                   settings)

    # ----- loaders -------------------------------------------------------------------------------
    def _loader(self, documents: np.ndarray, shuffle: bool, ids: torch.Tensor | None = None,
                offsets: np.ndarray | None = None, labelled: bool = True
                ) -> LMLoader | ClassificationLoader:
        """A loader over `documents` of this data (or of other `ids`/`offsets`, unlabelled)."""
        settings = self.settings
        if ids is None:
            ids, offsets = self._id_tensor, self.offsets
        if settings.for_lm:
            return LMLoader(ids, offsets, documents, settings.bs, settings.seq_len, shuffle,
                            settings.backwards)
        labels = None
        if labelled and self.labels is not None:
            labels = torch.from_numpy(self.labels[documents])
        return ClassificationLoader(ids, offsets, documents, labels, settings.bs, shuffle,
                                    self.vocab.pad_id, settings.backwards)

    def add_test(self, texts: Sequence[str] | pd.Series) -> Any:
        """Tokenise and numericalise new texts into `self.test` (sorted by length; see `order`).

        Missing and empty texts are read as empty, with one warning that counts them."""
        ids, offsets = self.pipeline.numericalize(texts)
        documents = np.arange(len(offsets) - 1)
        self.test = self._loader(documents, False, ids, offsets, labelled=False)
        return self.test

    # ----- inspecting ----------------------------------------------------------------------------
    @property
    def bs(self) -> int:
        """Batch size."""
        return self.settings.bs

    @property
    def for_lm(self) -> bool:
        """Whether this is language-model data."""
        return self.settings.for_lm

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        """Tokens per document."""
        return np.diff(self.offsets)

    def decode_labels(self, labels: torch.Tensor | np.ndarray | Sequence[int]) -> list[Any]:
        """The user's classes for label ids."""
        if self.classes is None:
            raise ConfigError("Language-model data has no classes.")
        values = labels.tolist() if hasattr(labels, "tolist") else list(labels)
        return [self.classes[i] for i in values]

    def show_batch(self, n: int = 5, ds: str = "train", readable: bool = False) -> pd.DataFrame:
        """The first `n` rows of a batch as a DataFrame of decoded text (and labels or targets).

        Tokens are shown as the model sees them (xxbos xxmaj ...) unless `readable`.
        """
        loader = {"train": self.train, "valid": self.valid, "test": self.test}.get(ds)
        if loader is None:
            raise ConfigError(f"ds must be 'train', 'valid' or 'test' (with data); got {ds!r}.")
        batch = next(iter(loader))
        texts = [self._show(row) for row in batch[0][:n]]
        if self.for_lm:
            return pd.DataFrame({"text": texts, "target": [self._show(r) for r in batch[1][:n]]})
        if readable:
            texts = [self.tokenizer.decode(text.split(" ")) for text in texts]
        frame = pd.DataFrame({"text": texts})
        if len(batch) > 1:
            frame["label"] = self.decode_labels(batch[1][:n])
        return frame

    def _show(self, row: torch.Tensor) -> str:
        return self.vocab.textify(row[row != self.vocab.pad_id])

    # ----- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write tokens, vocab, labels and settings to one safetensors file (no pickle).

        Example:
            >>> data.save("imdb_lm.textdata")
            >>> data = TextData.load("imdb_lm.textdata")
        """
        arrays = {"ids": np.asarray(self.ids), "offsets": self.offsets,
                  "train_docs": self.train_docs}
        if self.valid_docs is not None:
            arrays["valid_docs"] = self.valid_docs
        if self.labels is not None:
            arrays["labels"] = self.labels
        meta = {"kind": "text_data", "pipeline": self.pipeline.to_json(),
                "settings": {"for_lm": self.for_lm, "bs": self.bs,
                             "seq_len": self.settings.seq_len,
                             "backwards": self.settings.backwards}}
        return write_arrays(path, arrays, meta)

    @classmethod
    def load(cls, path: str | os.PathLike, tokenizer: BaseTokenizer | None = None,
             **settings: Any) -> TextData:
        """Read a file written by `save` (memory-mapped); keyword arguments override bs etc.

        Every part is checked first (`briskml.text.data_file`): a damaged or edited file is a
        FileFormatError naming it and the field."""
        arrays, pipeline, saved = read_text_data(path, tokenizer)
        unknown = sorted(set(settings) - set(saved))
        if unknown:
            raise ConfigError(f"TextData.load takes {sorted(saved)} as keyword arguments; got "
                              f"{unknown}.")
        return cls(arrays["ids"], arrays["offsets"], pipeline.vocab, pipeline.tokenizer,
                   arrays["train_docs"], arrays.get("valid_docs"), arrays.get("labels"),
                   pipeline.classes, TextSettings(**{**saved, **settings}))

    def __repr__(self) -> str:
        kind = "language model" if self.for_lm else f"classifier, {len(self.classes or [])} classes"
        num_valid = 0 if self.valid_docs is None else len(self.valid_docs)
        return (f"TextData({kind}: {len(self.train_docs)} train / {num_valid} valid documents, "
                f"{int(self.offsets[-1]):,} tokens, vocab {len(self.vocab)}, bs={self.bs})")


def _split_and_labels(df: pd.DataFrame, label_col: str | None, valid_col: str | None,
                      valid_pct: float, seed: int | None, for_lm: bool,
                      text_cols: Sequence[str] = ()
                      ) -> tuple[tuple[np.ndarray, np.ndarray],
                                 tuple[np.ndarray, list[Any]] | None]:
    """((train rows, valid rows), (label codes, classes) or None for a language model)."""
    named = {"text_cols": list(text_cols), "label_col": [label_col] if label_col else [],
             "valid_col": [valid_col] if valid_col else []}
    check_columns(df, named)
    split = split_positions(len(df), valid_mask=valid_col_mask(df, valid_col),
                            valid_pct=valid_pct, seed=seed, what="documents")
    return split, _labels(df, label_col, split[0], for_lm)


def _labels(df: pd.DataFrame, label_col: str | None, train_docs: np.ndarray, for_lm: bool
            ) -> tuple[np.ndarray, list[Any]] | None:
    if for_lm:
        return None
    if label_col is None:
        raise ConfigError("A classifier needs label_col=<column of classes>; for a language "
                          "model pass for_lm=True.")
    return encode_labels(df[label_col], train_docs, f"label_col {label_col!r}")


def _read_texts(paths: Sequence[Path], encoding_errors: str) -> Iterator[str]:
    for path in paths:
        yield decode_utf8(Path(path).read_bytes(), str(path), encoding_errors)
