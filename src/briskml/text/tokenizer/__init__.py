"""Tokenizers: the lessons' word tokenizer (spaCy + special tokens) and sentencepiece subwords,
run in parallel and cached, with their special tokens, rules and one way of being saved.

| module | what it holds |
| --- | --- |
| `base` | `BaseTokenizer` (inputs, cache), the kind registry, `tokenizer_from_json` (checked) |
| `texts` | the one rule for reading values as texts (missing, empty, not strings), `join_fields` |
| `word` | `Tokenizer`, the lessons' word tokenizer |
| `subword` | `SentencePieceTokenizer` |
| `rules` | special tokens, pre-rules, capitals, decoding |
| `engine` | the word tokenizer's work inside one process |
| `parallel`, `workers` | the process pool and its worker side |
| `corpus` | `TokenizedCorpus` (flat id arrays) and the on-disk token cache |

Importing this package registers every built-in kind, so `tokenizer_from_json` can rebuild any
saved tokenizer.

Example:
    >>> from briskml.text.tokenizer import Tokenizer, tokenizer_from_json
    >>> tokenizer_from_json(Tokenizer().to_json())("Hello!")
    ['xxbos', 'xxmaj', 'hello', '!']
"""

from briskml.text.tokenizer.base import (
    BaseTokenizer,
    check_tokenizer_json,
    register_tokenizer,
    tokenizer_from_json,
    upgrade_tokenizer_json,
)
from briskml.text.tokenizer.corpus import TokenizedCorpus
from briskml.text.tokenizer.rules import SPECIAL_TOKENS
from briskml.text.tokenizer.subword import SentencePieceTokenizer
from briskml.text.tokenizer.texts import TextReport, clean_texts, join_fields
from briskml.text.tokenizer.word import Tokenizer

__all__ = [
    "SPECIAL_TOKENS",
    "BaseTokenizer",
    "SentencePieceTokenizer",
    "TextReport",
    "TokenizedCorpus",
    "Tokenizer",
    "check_tokenizer_json",
    "clean_texts",
    "join_fields",
    "register_tokenizer",
    "tokenizer_from_json",
    "upgrade_tokenizer_json",
]
