"""pretrain_lm: ULMFiT's first stage, a language model trained on general text and exported.

Example:
    >>> learn = pretrain_lm("../shared/data/wikitext-2/train.txt", "wt2_lm.brisk",
    ...                     config=dict(emb_sz=200, n_hid=400, n_layers=2), epochs=2, seed=42)
    >>> learn_lm = language_model_learner(data_lm, pretrained="wt2_lm.brisk")
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from briskml.encoding import check_encoding_errors, read_utf8_files
from briskml.errors import DataError
from briskml.text.awd_lstm import AWDLSTMConfig
from briskml.text.data import TextData
from briskml.text.lm_learner import LanguageModelLearner, language_model_learner
from briskml.text.tokenizer import BaseTokenizer, clean_texts

# A top-level WikiText heading (" = Title = "), where a new article starts.
_WIKITEXT_HEADING = re.compile(r"^ = [^=].* = $")
_BLANK_LINES = re.compile(r"\n\s*\n")


def read_corpus(corpus: str | os.PathLike | Iterable[str],
                encoding_errors: str = "strict") -> list[str]:
    """Documents from a text file, a folder of .txt files, or a sequence of texts.

    A WikiText file is split into its articles (at " = Title = " lines); another text file into
    paragraphs (at blank lines); a folder gives one document per .txt file under it. A file that
    is not UTF-8 is refused, naming it and the byte offset, unless `encoding_errors="replace"`
    (read as U+FFFD, with a warning). In a sequence, missing (None, NaN) and empty texts are
    left out and other values read as their str(), with one warning that counts them.
    """
    check_encoding_errors(encoding_errors)
    if isinstance(corpus, (str, os.PathLike)):
        path = Path(corpus)
        if path.is_dir():
            files = sorted(path.rglob("*.txt"))
            if not files:
                raise DataError(f"The folder '{path}' holds no .txt files.")
            return read_utf8_files(files, encoding_errors)
        if not path.is_file():
            raise FileNotFoundError(f"No such file or folder: '{path}'. Pass a text file, a "
                                    "folder of .txt files or a list of texts.")
        return split_documents(read_utf8_files([path], encoding_errors)[0])
    texts = clean_texts(corpus, outcome="they are left out of the corpus")
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise DataError("The corpus is empty; give at least a few documents of text.")
    return texts



def split_documents(text: str) -> list[str]:
    """WikiText articles (split at top-level headings) or, for other text, paragraphs."""
    lines = text.split("\n")
    if any(_WIKITEXT_HEADING.match(line) for line in lines[:1000]):
        documents, current = [], []
        for line in lines:
            if _WIKITEXT_HEADING.match(line) and any(part.strip() for part in current):
                documents.append("\n".join(current))
                current = []
            current.append(line)
        documents.append("\n".join(current))
    else:
        documents = _BLANK_LINES.split(text)
    return [document for document in documents if document.strip()]


def pretrain_lm(corpus: str | os.PathLike | Sequence[str], out: str | os.PathLike,
                config: AWDLSTMConfig | Mapping[str, Any] | None = None, epochs: int = 1,
                lr: float = 5e-3, bs: int = 64, seq_len: int = 72, seed: int | None = None,
                drop_mult: float = 1.0, valid_pct: float = 0.1, max_vocab: int = 60000,
                min_freq: int = 2, tokenizer: BaseTokenizer | None = None,
                moms: Sequence[float] | None = None, backwards: bool = False,
                overwrite: bool = False, encoding_errors: str = "strict",
                resume: str | os.PathLike | None = None, **learner_kwargs: Any
                ) -> LanguageModelLearner:
    """Train an AWD-LSTM language model on `corpus` with one cycle of `epochs` and export it with
    its vocabulary and tokenizer to `out`, ready for `language_model_learner(pretrained=out)`.

    `corpus` is a text file (WikiText articles or blank-line paragraphs), a folder of .txt files
    or a sequence of texts; `valid_pct` of the documents are held out to report perplexity.
    `backwards=True` trains a model that reads each document right to left (the backward half of
    the paper's ensemble). An existing `out` is refused (before any training) unless
    `overwrite=True`. A corpus file that is not UTF-8 is refused, naming the byte offset, unless
    `encoding_errors="replace"`.
    `moms` defaults to ULMFiT's (0.8, 0.7, 0.8). `learner_kwargs` go to the learner (device,
    progress, callbacks such as `Checkpoint` ...); `resume` continues a stopped run from its
    checkpoints (give the same corpus, seed and settings).

    Example:
        >>> learn = pretrain_lm("wikitext-2/train.txt", "wt2_lm.brisk", epochs=1, seed=42,
        ...                     config=dict(emb_sz=200, n_hid=400, n_layers=2))
        >>> learn.validate()
    """
    target = Path(out).resolve()
    if target.exists() and not overwrite:
        raise FileExistsError(f"'{target}' already exists; pass overwrite=True to replace it, or "
                              "choose another `out`.")
    documents = read_corpus(corpus, encoding_errors)
    data = TextData.from_df(pd.DataFrame({"text": documents}), "text", for_lm=True,
                            valid_pct=valid_pct, seed=seed, tokenizer=tokenizer, bs=bs,
                            seq_len=seq_len, max_vocab=max_vocab, min_freq=min_freq,
                            backwards=backwards)
    learn = language_model_learner(data, config=config, drop_mult=drop_mult, seed=seed,
                                   **learner_kwargs)
    learn.fit_one_cycle(epochs, lr, moms=moms, resume=resume)
    learn.export(target, overwrite=overwrite)
    return learn
