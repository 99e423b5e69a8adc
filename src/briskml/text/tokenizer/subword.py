"""Subword tokenisation with sentencepiece, interchangeable with the word tokenizer."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

import numpy as np

from briskml.checks import check_one_of, check_positive_int
from briskml.errors import ConfigError
from briskml.schema import expect_bool, expect_int, expect_number, expect_str, fail
from briskml.text.tokenizer.base import (
    BaseTokenizer,
    check_lang,
    check_options_known,
    check_rule_names,
    register_tokenizer,
    rules_by_name,
)
from briskml.text.tokenizer.corpus import CorpusBuilder
from briskml.text.tokenizer.parallel import resolve_workers
from briskml.text.tokenizer.rules import (
    BOS,
    DEFAULT_RULES,
    EOS,
    SPECIAL_TOKENS,
    UNK,
    Rule,
    apply_capitals,
    replace_wrep,
    rm_useless_spaces,
    rule_name,
    tidy_spacing,
    undo_special_tokens,
)
from briskml.text.tokenizer.texts import clean_text
from briskml.text.tokenizer.workers import read_text_files

_MODEL_TYPES = ("unigram", "bpe", "char", "word")
# Languages whose alphabets are small enough to cover every character, as fastai sets it.
_SMALL_ALPHABETS = {"de", "en", "es", "fr", "it", "nl", "pt", "da", "sv", "fi", "no", "ro", "ca"}
_SPOOL_KEY = -1  # sentencepiece ids never change, so the builder keeps one mapping for them
# The largest subword vocabulary and sentence length a saved tokenizer may ask for.
MAX_VOCAB_SZ = 1 << 22
MAX_SENTENCE_LENGTH = 1 << 30
_OPTIONS = ("kind", "vocab_sz", "model_type", "lang", "char_coverage", "rules", "add_bos",
            "add_eos", "max_sentence_length")


@register_tokenizer
class SentencePieceTokenizer(BaseTokenizer):
    """Subword units learnt on the corpus with sentencepiece (unigram by default).

    Texts get the same pre-rules and special tokens as `Tokenizer` (xxbos, xxmaj, xxup, xxrep,
    xxwrep; words lower-cased) before being cut into pieces; special tokens are pieces of their own.
    `TextData` trains it on the training texts when it is not trained yet.

    Example:
        >>> tokenizer = SentencePieceTokenizer(vocab_sz=8000).fit(df["text"])
        >>> tokenizer("Hello World!")
        ['▁', 'xxbos', '▁', 'xxmaj', '▁hello', '▁', 'xxmaj', '▁world', '!']
    """

    kind = "sentencepiece"

    def __init__(self, vocab_sz: int = 30000, model_type: str = "unigram", lang: str = "en",
                 char_coverage: float | None = None, rules: Sequence[Rule] | None = None,
                 add_bos: bool = True, add_eos: bool = False, max_sentence_length: int = 1 << 16,
                 n_workers: int | None = None, cache: bool = True) -> None:
        super().__init__(n_workers, cache)
        check_one_of(model_type, _MODEL_TYPES, "model_type")
        check_positive_int(vocab_sz, "vocab_sz")
        if vocab_sz <= len(SPECIAL_TOKENS):
            raise ConfigError(f"vocab_sz must be an integer > {len(SPECIAL_TOKENS)} (the special "
                              f"tokens); got {vocab_sz!r}.")
        self.vocab_sz, self.model_type, self.lang = vocab_sz, model_type, lang
        self.char_coverage = char_coverage or (0.99999 if lang in _SMALL_ALPHABETS else 0.9998)
        self.rules = tuple(DEFAULT_RULES if rules is None else rules)
        self.add_bos, self.add_eos = add_bos, add_eos
        self.max_sentence_length = max_sentence_length
        self.model: bytes | None = None
        self.processor: Any = None
        self._capitals: dict[str, str] = {}

    # ----- training ----------------------------------------------------------------------------
    def fit(self, texts: Iterable[str]) -> SentencePieceTokenizer:
        """Train the subword model on `texts` (after the pre-rules and special tokens)."""
        import sentencepiece

        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=self._prepared(texts), model_writer=model,
                vocab_size=self.vocab_sz, model_type=self.model_type,
                character_coverage=self.char_coverage, unk_id=0, unk_piece=UNK,
                pad_id=-1, bos_id=-1, eos_id=-1, user_defined_symbols=list(SPECIAL_TOKENS[1:]),
                hard_vocab_limit=False, max_sentence_length=self.max_sentence_length,
                input_sentence_size=1_000_000, shuffle_input_sentence=True,
                num_threads=resolve_workers(self.n_workers), minloglevel=2,
            )
        except RuntimeError as error:
            raise ConfigError(f"sentencepiece could not train on these texts ({error}). Give more "
                              f"text or a smaller vocab_sz than {self.vocab_sz}.") from error
        self._set_model(model.getvalue())
        return self

    def _set_model(self, model: bytes) -> None:
        import sentencepiece

        self.model = model
        self.processor = sentencepiece.SentencePieceProcessor(model_proto=model)

    @property
    def is_fitted(self) -> bool:
        """Whether a subword model has been trained (or loaded)."""
        return self.model is not None

    def prepare(self, train_texts: Iterable[str]) -> None:
        """Train on `train_texts` unless already trained."""
        if not self.is_fitted:
            self.fit(train_texts)

    # ----- tokenising --------------------------------------------------------------------------
    def _prepare(self, text: str) -> str:
        for rule in self.rules:
            text = rule(text)
        text = apply_capitals(rm_useless_spaces(replace_wrep(text)).strip(), self._capitals)
        return f"{BOS + ' ' if self.add_bos else ''}{text}{' ' + EOS if self.add_eos else ''}"

    def _prepared(self, texts: Iterable[str]) -> Iterator[str]:
        for text in texts:
            yield self._prepare(text)

    def __call__(self, text: str) -> list[str]:
        """The pieces of one text."""
        self._check_fitted()
        return self.processor.encode(self._prepare(clean_text(text)), out_type=str)

    def decode(self, tokens: Sequence[str]) -> str:
        """Readable text from pieces (special tokens undone, capitals restored)."""
        self._check_fitted()
        return tidy_spacing(undo_special_tokens(self.processor.decode_pieces(list(tokens))))

    def _run(self, batches: Iterator[list[str]], n_workers: int, builder: CorpusBuilder,
             files: bool, encoding_errors: str = "strict") -> None:
        self._check_fitted()
        pieces = [self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())]
        for number, batch in enumerate(batches):
            texts, bad = read_text_files(batch, encoding_errors) if files else (batch, [])
            prepared = [self._prepare(text) for text in texts]
            encoded = self.processor.encode(prepared, out_type=int, num_threads=n_workers)
            lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
            ids = np.fromiter(chain.from_iterable(encoded), np.int32, int(lengths.sum()))
            num_empty = sum(1 for text in texts if not text.strip())
            builder.add(((_SPOOL_KEY, pieces if number == 0 else [], ids, lengths, num_empty),
                         bad))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise ConfigError("This SentencePieceTokenizer is not trained yet; call "
                              "tokenizer.fit(texts) first (TextData does it for you).")

    # ----- settings and files ------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        """Everything the pieces depend on, the trained model's hash included."""
        self._check_fitted()
        return {**self.options(), "model_sha256": hashlib.sha256(self.model).hexdigest()}

    def options(self) -> dict[str, Any]:
        """The kind and training options, JSON-able (the model itself is in `state()`)."""
        return {"kind": self.kind, "vocab_sz": self.vocab_sz, "model_type": self.model_type,
                "lang": self.lang, "char_coverage": self.char_coverage,
                "rules": [rule_name(rule) for rule in self.rules], "add_bos": self.add_bos,
                "add_eos": self.add_eos, "max_sentence_length": self.max_sentence_length}

    def state(self) -> dict[str, bytes]:
        """The trained sentencepiece model's bytes."""
        self._check_fitted()
        return {"sentencepiece_model": self.model}

    @classmethod
    def check_options(cls, options: dict[str, Any], field: str) -> dict[str, Any]:
        """Saved options checked one by one (a SchemaError names the field); options a file
        leaves out keep their defaults."""
        check_options_known(options, _OPTIONS, field)
        checks = {
            "vocab_sz": lambda value, name: expect_int(value, name, len(SPECIAL_TOKENS) + 1,
                                                       MAX_VOCAB_SZ),
            "model_type": lambda value, name: expect_str(value, name, _MODEL_TYPES),
            "lang": check_lang,
            "char_coverage": lambda value, name: expect_number(value, name, positive=True,
                                                               maximum=1.0),
            "rules": check_rule_names,
            "add_bos": expect_bool,
            "add_eos": expect_bool,
            "max_sentence_length": lambda value, name: expect_int(value, name, 1,
                                                                  MAX_SENTENCE_LENGTH),
        }
        checked = {name: check(options[name], f"{field}.{name}")
                   for name, check in checks.items() if name in options}
        return {"kind": cls.kind, **checked}

    @classmethod
    def check_state(cls, state: dict[str, bytes], field: str) -> None:
        """The saved state must hold a sentencepiece model that loads (a SchemaError names
        `field`.sentencepiece_model otherwise)."""
        import sentencepiece

        if "sentencepiece_model" not in state:
            raise fail(f"{field}.sentencepiece_model",
                       "is missing: the trained sentencepiece model the texts were cut with")
        try:
            sentencepiece.SentencePieceProcessor(model_proto=bytes(state["sentencepiece_model"]))
        except (RuntimeError, OSError, ValueError, TypeError) as error:
            raise fail(f"{field}.sentencepiece_model",
                       f"is not a sentencepiece model ({str(error)[:80]})") from None

    @classmethod
    def from_options(cls, options: dict[str, Any], state: dict[str, bytes],
                     source: str) -> SentencePieceTokenizer:
        """Rebuild a trained tokenizer from `options()` and `state()` (as `check_options` and
        `check_state` accept them)."""
        kwargs = {key: value for key, value in options.items() if key not in ("kind", "rules")}
        rules = rules_by_name(options["rules"], source) if "rules" in options else None
        tokenizer = cls(**kwargs, rules=rules)
        if "sentencepiece_model" not in state:
            raise ConfigError(f"{source} lacks the sentencepiece model it was tokenised with.")
        tokenizer._set_model(bytes(state["sentencepiece_model"]))
        return tokenizer

    def __repr__(self) -> str:
        state = "trained" if self.is_fitted else "not trained"
        return (f"SentencePieceTokenizer(vocab_sz={self.vocab_sz}, "
                f"model_type={self.model_type!r}, {state})")
