"""The lessons' word tokenizer: pre-rules, spaCy's rule-based tokenizer, special tokens.

`Tokenizer.tokenize` returns a `TokenizedCorpus`. Work is spread over processes in batches of
documents (order preserved), input is read lazily so memory stays bounded, and the result is cached
on disk under a key made of the content and the settings, so the same corpus is tokenised once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from importlib.metadata import version
from itertools import chain, islice
from typing import Any

from briskml.errors import ConfigError
from briskml.schema import expect_bool, expect_key
from briskml.text.tokenizer.base import (
    BaseTokenizer,
    check_lang,
    check_options_known,
    check_rule_names,
    register_tokenizer,
    rules_by_name,
)
from briskml.text.tokenizer.corpus import CorpusBuilder
from briskml.text.tokenizer.engine import WordEngine
from briskml.text.tokenizer.parallel import ordered_map
from briskml.text.tokenizer.rules import DEFAULT_RULES, Rule, decode_tokens, rule_name, split_rules
from briskml.text.tokenizer.texts import clean_text
from briskml.text.tokenizer.workers import init_worker, run_files, run_texts, set_process_engine

# Bump when a change to the code changes the tokens, so old cache entries are not reused.
TOKENIZER_VERSION = 2   # 2: words spelt like markers are escaped (rules.escape_marker_words)


@register_tokenizer
class Tokenizer(BaseTokenizer):
    """The lessons' word tokenizer: pre-rules, spaCy's rule-based tokenizer, special tokens.

    Produces xxbos at each document start, xxmaj/xxup before capitalised/all-caps words (which are
    lower-cased), xxrep n c for a character repeated 3+ times and xxwrep n w for a word repeated 3+
    times. `tokenize` uses every core and caches its result ($BRISKML_CACHE or ~/.cache/briskml).

    Example:
        >>> tokenizer = Tokenizer()
        >>> tokenizer("I LOVED it!!!")
        ['xxbos', 'xxmaj', 'i', 'xxup', 'loved', 'it', 'xxrep', '3', '!']
        >>> tokenizer.decode(tokenizer("I LOVED it!!!"))
        'I LOVED it!!!'
        >>> corpus = tokenizer.tokenize(df["text"])
    """

    kind = "word"

    def __init__(self, lang: str = "en", rules: Sequence[Rule] | None = None,
                 add_bos: bool = True, add_eos: bool = False, n_workers: int | None = None,
                 cache: bool = True) -> None:
        super().__init__(n_workers, cache)
        if not isinstance(lang, str) or not lang:
            raise ConfigError(f"lang must be a spaCy language code such as 'en'; got {lang!r}.")
        self.lang = lang
        self.rules = tuple(DEFAULT_RULES if rules is None else rules)
        for rule in self.rules:
            if not callable(rule):
                raise ConfigError(f"Each rule must be a function str -> str; got {rule!r}.")
        self.add_bos, self.add_eos = add_bos, add_eos
        self._engine: WordEngine | None = None

    @property
    def engine(self) -> WordEngine:
        """This process's engine (built on first use; forked workers inherit it)."""
        if self._engine is None:
            document_rules, word_rules = split_rules(self.rules)
            self._engine = WordEngine(self.lang, document_rules, word_rules, self.add_bos,
                                      self.add_eos)
        return self._engine

    @property
    def settings(self) -> dict[str, Any]:
        """Everything the tokens depend on, JSON-able (part of every cache key)."""
        # The installed version, read without importing spaCy (seconds) so cache hits stay fast.
        return {"kind": self.kind, "version": TOKENIZER_VERSION, "spacy": version("spacy"),
                **self._worker_settings()}

    def _worker_settings(self) -> dict[str, Any]:
        return {"lang": self.lang, "add_bos": self.add_bos, "add_eos": self.add_eos,
                "rules": [rule_name(rule) for rule in self.rules]}

    def options(self) -> dict[str, Any]:
        """The kind, language, rules and document markers, JSON-able (`to_json`'s "settings")."""
        return {"kind": self.kind, **self._worker_settings()}

    @classmethod
    def check_options(cls, options: dict[str, Any], field: str) -> dict[str, Any]:
        """Saved options checked one by one: lang a language code, rules a list of names,
        add_bos and add_eos true or false (a SchemaError names the field)."""
        check_options_known(options, ("kind", "lang", "rules", "add_bos", "add_eos"), field)
        return {"kind": cls.kind,
                "lang": check_lang(expect_key(options, "lang", field), f"{field}.lang"),
                "rules": check_rule_names(expect_key(options, "rules", field), f"{field}.rules"),
                "add_bos": expect_bool(expect_key(options, "add_bos", field), f"{field}.add_bos"),
                "add_eos": expect_bool(expect_key(options, "add_eos", field), f"{field}.add_eos")}

    @classmethod
    def from_options(cls, options: dict[str, Any], state: dict[str, bytes],
                     source: str) -> Tokenizer:
        """Rebuild a word tokenizer from `options()` (it has no trained state)."""
        return cls(options["lang"], rules_by_name(options["rules"], source), options["add_bos"],
                   options["add_eos"])

    def __call__(self, text: str) -> list[str]:
        """The tokens of one text (in this process)."""
        self.engine.start_session()
        return self.engine.tokenize_one(clean_text(text))

    def decode(self, tokens: Sequence[str]) -> str:
        """Readable text from tokens (special tokens undone, capitals restored)."""
        return decode_tokens(tokens)

    def _run(self, batches: Iterator[list[str]], n_workers: int, builder: CorpusBuilder,
             files: bool, encoding_errors: str = "strict") -> None:
        first = list(islice(batches, 2))
        batches = chain(first, batches)
        work = partial(run_files, encoding_errors=encoding_errors) if files else run_texts
        set_process_engine(self.engine)
        if n_workers <= 1 or len(first) < 2:  # one batch is not worth starting processes
            self.engine.start_session()
            for batch in batches:
                builder.add(work(batch))
            return
        initargs = (self._worker_settings(), self.rules)
        for result in ordered_map(work, batches, n_workers, init_worker, initargs):
            builder.add(result)

    def __repr__(self) -> str:
        return f"Tokenizer(lang={self.lang!r}, rules={len(self.rules)}, add_eos={self.add_eos})"
