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
from typing import Any

import numpy as np
import torch
from torch import Tensor

from briskml.errors import ConfigError, FileFormatError
from briskml.text.loaders import ClassificationLoader
from briskml.text.tokenizer import BaseTokenizer, tokenizer_from_json, upgrade_tokenizer_json
from briskml.text.vocab import Vocab

_JSON_KEYS = ("vocab", "tokenizer", "backwards", "classes")


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

    def numericalize(self, texts: Sequence[str], cache: bool | None = None
                     ) -> tuple[Tensor, np.ndarray]:
        """Every text tokenised (in parallel) and numericalised: flat int32 ids in reading order
        and the offsets of each text, as `ClassificationLoader` takes them. `cache` overrides the
        tokenizer's token cache (predictions pass False: texts seen once are not worth keeping)."""
        corpus = self.tokenizer.tokenize(list(texts), cache=cache)
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
    def from_json(cls, state: dict[str, Any], source: str = "the file",
                  tokenizer: BaseTokenizer | None = None) -> TextPipeline:
        """Rebuild what `to_json` wrote; `tokenizer` replaces the saved one (a tokenizer with
        custom rules, which JSON names but cannot hold)."""
        if not isinstance(state, dict) or any(key not in state for key in _JSON_KEYS):
            raise FileFormatError(f"{source} holds no complete text pipeline (vocabulary, "
                                  "tokenizer, direction, classes); export the model again.")
        vocab = Vocab.from_dict(state["vocab"], f"the vocabulary in {source}")
        if tokenizer is None:
            tokenizer = tokenizer_from_json(state["tokenizer"], source)
        return cls(tokenizer, vocab, state["classes"], bool(state["backwards"]))

    def __repr__(self) -> str:
        task = "language model" if self.classes is None else f"{len(self.classes)} classes"
        direction = ", backwards" if self.backwards else ""
        return (f"TextPipeline({self.tokenizer!r}, vocab {len(self.vocab)}, {task}"
                f"{direction})")


def pipeline_json_from_0_1_0(extra: Any, source: str) -> dict[str, Any]:
    """The pipeline JSON of a text model exported by briskml 0.1.0, from its "extra" (vocab,
    tokenizer, backwards, and classes for a classifier), or a FileFormatError asking for a new
    export."""
    try:
        return {"vocab": extra["vocab"],
                "tokenizer": upgrade_tokenizer_json(extra["tokenizer"], source),
                "backwards": bool(extra.get("backwards", False)),
                "classes": extra.get("classes")}
    except (KeyError, TypeError, AttributeError, FileFormatError) as error:
        raise FileFormatError(f"'{source}' was exported by briskml 0.1.0 but lacks the "
                              "vocabulary or tokenizer that version stored; export it again "
                              "with this briskml.") from error
