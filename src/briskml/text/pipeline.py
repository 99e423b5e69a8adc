"""TextPipeline: what turns texts into a text model's token ids and its outputs back into what
the user reads: the tokenizer, the vocabulary, the classes (a classifier's) and the reading
direction (a backwards model reads each text from its end).

It keeps `briskml.pipeline.Pipeline`'s contract: fitted on the training texts only (the
vocabulary counts them, a subword tokenizer trains on them, the classes are theirs), then applied
unchanged; it travels inside an exported learner as JSON (`to_json` / `from_json`).

Example:
    >>> pipeline = data.pipeline                       # built by TextData
    >>> tokens = pipeline.inputs(["Loved it!", "Meh."])  # (2, longest) ids, padded at the end
    >>> pipeline.decode(learn.model(tokens).softmax(-1))  # array(['positive', 'negative'])
    >>> TextPipeline.from_json(pipeline.to_json())
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from briskml.errors import ConfigError, FileFormatError
from briskml.schema import (
    expect_bool,
    expect_dict,
    expect_distinct,
    expect_key,
    expect_list,
    fail,
    in_file,
)
from briskml.text.loaders import ClassificationLoader
from briskml.text.tokenizer import BaseTokenizer, check_tokenizer_json, tokenizer_from_json
from briskml.text.vocab import Vocab

# The most classes a saved classifier may name.
MAX_CLASSES = 1 << 20


class TextPipeline:
    """Tokenizer + vocabulary + classes + direction of a text model (see the module doc).

    Example:
        >>> pipeline = TextPipeline(Tokenizer(), vocab, classes=["negative", "positive"])
        >>> pipeline.ids("Loved it!")               # 1-D int64 ids in the model's order
        >>> pipeline.describe()["vocab_size"]
    """

    def __init__(self, tokenizer: BaseTokenizer, vocab: Vocab,
                 classes: Sequence[Any] | None = None, backwards: bool = False) -> None:
        if not isinstance(tokenizer, BaseTokenizer):
            raise ConfigError(f"tokenizer must be a briskml tokenizer (Tokenizer(), "
                              f"SentencePieceTokenizer(...)); got {type(tokenizer).__name__}.")
        if not isinstance(vocab, Vocab):
            raise ConfigError(f"vocab must be a briskml Vocab (e.g. data_lm.vocab); got "
                              f"{type(vocab).__name__}.")
        self.tokenizer, self.vocab = tokenizer, vocab
        self.classes = None if classes is None else list(classes)
        self.backwards = bool(backwards)

    @property
    def is_classifier(self) -> bool:
        """Whether the outputs are classes (a classifier) rather than next tokens."""
        return self.classes is not None

    # ----- texts in ------------------------------------------------------------------------------
    def ids(self, text: str) -> Tensor:
        """The token ids of one text as a 1-D int64 tensor, in the order the model reads them
        (reversed for a backwards model); unknown words are xxunk."""
        if not isinstance(text, str):
            raise ConfigError(f"Expected a text (str); got {type(text).__name__}.")
        return self.oriented(self.vocab.numericalize(self.tokenizer(text)))

    def oriented(self, ids: Tensor) -> Tensor:
        """1-D ids in reading order turned into the model's order, or back (its own inverse)."""
        return ids.flip(0) if self.backwards else ids

    def numericalize(self, texts: Sequence[Any], cache: bool | None = None,
                     checked: bool = False) -> tuple[Tensor, np.ndarray]:
        """Every text tokenised (in parallel) and numericalised: flat int32 ids in reading order
        and the offsets of each text, as `ClassificationLoader` takes them. `cache` overrides the
        tokenizer's token cache (predictions pass False: texts seen once are not worth keeping).
        Missing and empty texts are read as empty, with one warning (see `tokenize`;
        `checked=True`: the caller read them with `clean_texts` and warned already)."""
        corpus = self.tokenizer.tokenize(texts, cache=cache, checked=checked)
        ids = torch.from_numpy(self.vocab.numericalize_corpus(corpus).astype(np.int32))
        return ids, corpus.offsets

    def inputs(self, texts: str | Sequence[str]) -> Tensor:
        """The model's input for texts: (len(texts), longest) int64 ids, rows in the given order,
        each in the model's order and padded with xxpad after its end (one text: one row)."""
        batch = [texts] if isinstance(texts, str) else list(texts)
        ids, offsets = self.numericalize(batch, cache=False)
        loader = self.loader(ids, offsets, len(batch))
        return loader.pad_batch(torch.arange(len(batch)))

    def loader(self, ids: Tensor, offsets: np.ndarray, count: int,
               bs: int = 64) -> ClassificationLoader:
        """Unlabelled batches of `count` numericalised texts, longest first (`order` maps them
        back), padded with this vocabulary's xxpad and read in this pipeline's direction."""
        return ClassificationLoader(ids, offsets, np.arange(count), None, bs, shuffle=False,
                                    pad_id=self.vocab.pad_id, backwards=self.backwards)

    # ----- outputs out ---------------------------------------------------------------------------
    def decode(self, outputs: Tensor | np.ndarray) -> np.ndarray:
        """What the user reads per item of activated outputs (..., n): a classifier's class
        label, a language model's most likely token string (per position)."""
        best = torch.as_tensor(outputs).argmax(dim=-1).numpy()
        names = self.classes if self.classes is not None else self.vocab.tokens
        return np.array(names, dtype=object)[best]

    def text(self, ids: Sequence[int] | Tensor) -> str:
        """Readable text of ids in the model's order (a backwards model's are read back)."""
        ordered = self.oriented(torch.as_tensor(ids, dtype=torch.int64))
        return self.tokenizer.decode([self.vocab.tokens[i] for i in ordered.tolist()])

    # ----- describing and saving -----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: tokenizer options, vocabulary size and examples, direction,
        classes (None for a language model)."""
        specials = set(self.vocab.special_tokens)
        examples = [token for token in self.vocab.tokens if token not in specials][:5]
        return {"kind": "text", "tokenizer": self.tokenizer.options(),
                "vocab_size": len(self.vocab), "vocab_examples": examples,
                "backwards": self.backwards, "classes": self.classes}

    def to_json(self) -> dict[str, Any]:
        """The fitted state as JSON: vocabulary, tokenizer (`to_json`), direction, classes."""
        return {"vocab": self.vocab.to_dict(), "tokenizer": self.tokenizer.to_json(),
                "backwards": self.backwards, "classes": self.classes}

    @classmethod
    def from_json(cls, state: Any, source: str | None = None,
                  tokenizer: BaseTokenizer | None = None, field: str = "pipeline"
                  ) -> TextPipeline:
        """Rebuild what `to_json` wrote, checking every field first: a SchemaError names it by
        its path (`pipeline.vocab.tokens[3]`; `field` is where the state sits), or, when `source`
        (a file) is given, a FileFormatError names the file too. `tokenizer` replaces the saved
        one (a tokenizer with custom rules, which JSON names but cannot hold); the saved one is
        checked all the same."""
        if source is not None:
            with in_file(source, field):
                return cls._from_checked_json(state, f"'{source}'", tokenizer, field)
        return cls._from_checked_json(state, "the file", tokenizer, field)

    @classmethod
    def _from_checked_json(cls, state: Any, source: str, tokenizer: BaseTokenizer | None,
                           field: str) -> TextPipeline:
        parts = read_pipeline_json(state, field)
        if tokenizer is None:
            tokenizer = tokenizer_from_json(parts.tokenizer, source, f"{field}.tokenizer")
        return cls(tokenizer, parts.vocab, parts.classes, parts.backwards)

    def __repr__(self) -> str:
        task = "language model" if self.classes is None else f"{len(self.classes)} classes"
        direction = ", backwards" if self.backwards else ""
        return (f"TextPipeline({self.tokenizer!r}, vocab {len(self.vocab)}, {task}"
                f"{direction})")


class PipelineJson(NamedTuple):
    """A saved text pipeline's parts, checked: the vocabulary, the tokenizer's JSON (in today's
    shape, not yet built), the direction and the classes."""

    vocab: Vocab
    tokenizer: dict[str, Any]
    backwards: bool
    classes: list[Any] | None


def read_pipeline_json(state: Any, field: str = "pipeline") -> PipelineJson:
    """The parts of what `TextPipeline.to_json` wrote, every field checked (a SchemaError names
    it by its path under `field`); the tokenizer is checked but not built."""
    state = expect_dict(state, field)
    vocab = Vocab.from_dict(expect_key(state, "vocab", field), field=f"{field}.vocab")
    tokenizer = check_tokenizer_json(expect_key(state, "tokenizer", field), f"{field}.tokenizer")
    backwards = expect_bool(expect_key(state, "backwards", field), f"{field}.backwards")
    classes = check_classes(expect_key(state, "classes", field), f"{field}.classes")
    return PipelineJson(vocab, tokenizer, backwards, classes)


def check_classes(value: Any, field: str) -> list[Any] | None:
    """A saved pipeline's classes: null (a language model) or a list of at least two distinct
    JSON scalars (strings, whole or finite numbers, booleans); a SchemaError names the field."""
    if value is None:
        return None
    classes = expect_list(value, field, max_len=MAX_CLASSES)
    if len(classes) < 2:
        raise fail(field, f"must name at least 2 classes (or be null for a language model); got "
                   f"{len(classes)}")
    return expect_distinct(classes, field, "class")


def pipeline_json_from_0_1_0(extra: Any, source: str) -> dict[str, Any]:
    """The pipeline JSON of a text model exported by briskml 0.1.0, from its "extra" (vocab,
    tokenizer, backwards, and classes for a classifier), or a FileFormatError asking for a new
    export. `TextPipeline.from_json` checks the fields (and names 0.1.0's rules anew)."""
    if not isinstance(extra, dict) or "vocab" not in extra or "tokenizer" not in extra:
        raise FileFormatError(f"'{source}' was exported by briskml 0.1.0 but lacks the "
                              "vocabulary or tokenizer that version stored; export it again "
                              "with this briskml.")
    return {"vocab": extra["vocab"], "tokenizer": extra["tokenizer"],
            "backwards": extra.get("backwards", False), "classes": extra.get("classes")}
