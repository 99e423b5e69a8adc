"""Text: the lessons' tokenizer and special tokens, vocabularies, language-model and classifier
data.

Example:
    >>> from briskml.text import TextData
    >>> data_lm = TextData.from_df(df, text_cols="text", for_lm=True, bs=64, seq_len=72)
"""

from briskml.text.corpus import TokenizedCorpus
from briskml.text.data import TextData
from briskml.text.loaders import ClassificationLoader, LMLoader
from briskml.text.rules import SPECIAL_TOKENS
from briskml.text.subword import SentencePieceTokenizer
from briskml.text.tokenize import Tokenizer
from briskml.text.vocab import Vocab

__all__ = [
    "SPECIAL_TOKENS",
    "ClassificationLoader",
    "LMLoader",
    "SentencePieceTokenizer",
    "TextData",
    "TokenizedCorpus",
    "Tokenizer",
    "Vocab",
]
