"""Text: the lessons' tokenizers and special tokens (`briskml.text.tokenizer`), vocabularies,
the text pipeline, language-model and classifier data, and ULMFiT: the AWD-LSTM, language-model
and classifier learners, pretraining.

Example:
    >>> from briskml.text import AWD_LSTM, TextData, language_model_learner
    >>> data_lm = TextData.from_df(df, text_cols="text", for_lm=True, bs=64, seq_len=72)
    >>> learn = language_model_learner(data_lm, AWD_LSTM, drop_mult=0.3)
"""

from briskml.text.awd_lstm import AWD_LSTM, AWDLSTM, AWDLSTMConfig, AWDLSTMLanguageModel
from briskml.text.classifier import (
    TextClassifierLearner,
    ensemble,
    text_classifier_learner,
    text_columns,
)
from briskml.text.classifier_model import AWDLSTMClassifier, TextClassifierConfig
from briskml.text.data import TextData
from briskml.text.fastai_import import import_fastai_lm
from briskml.text.lm_learner import LanguageModelLearner, language_model_learner
from briskml.text.loaders import ClassificationLoader, LMLoader
from briskml.text.pipeline import TextPipeline
from briskml.text.pretrain import pretrain_lm
from briskml.text.tokenizer import (
    SPECIAL_TOKENS,
    SentencePieceTokenizer,
    TokenizedCorpus,
    Tokenizer,
)
from briskml.text.vocab import Vocab

__all__ = [
    "AWDLSTM",
    "AWD_LSTM",
    "SPECIAL_TOKENS",
    "AWDLSTMClassifier",
    "AWDLSTMConfig",
    "AWDLSTMLanguageModel",
    "ClassificationLoader",
    "LMLoader",
    "LanguageModelLearner",
    "SentencePieceTokenizer",
    "TextClassifierConfig",
    "TextClassifierLearner",
    "TextData",
    "TextPipeline",
    "TokenizedCorpus",
    "Tokenizer",
    "Vocab",
    "ensemble",
    "import_fastai_lm",
    "language_model_learner",
    "pretrain_lm",
    "text_classifier_learner",
    "text_columns",
]
