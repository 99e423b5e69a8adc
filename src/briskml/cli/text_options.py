"""The options of the `briskml text` commands: typer's option types and the dataclasses they are
parsed into (model sizes, the training schedule, what a command reads)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from briskml.cli._common import column_list
from briskml.errors import ConfigError
from briskml.text.transfer import ENCODER_FIELDS, TextWeights

TextTable = Annotated[Path, typer.Argument(
    metavar="DATA", help="The texts: a CSV file, or Parquet (*.parquet).", show_default=False)]
TextColumns = Annotated[list[str] | None, typer.Option(
    "--text-col", metavar="COLUMN", help="The text column (default: text). Repeat it, or separate "
    "names with commas, to join several fields.", show_default=False)]
ValidPct = Annotated[float, typer.Option(
    "--valid-pct", min=0.0, max=0.99, help="Share of texts drawn at random for validation.")]
SeqLen = Annotated[int, typer.Option("--seq-len", min=1, help="Tokens per batch row (bptt).")]
EmbSize = Annotated[int | None, typer.Option(
    "--emb-sz", min=1, help="Embedding size (default: the lessons' 400; --emb-sz 200 --n-hid 400 "
    "--n-layers 2 trains in minutes on a CPU). With --pretrained or --encoder: the file's.",
    show_default=False)]
HiddenSize = Annotated[int | None, typer.Option(
    "--n-hid", min=1, help="LSTM hidden size (default 1152).", show_default=False)]
NumLayers = Annotated[int | None, typer.Option(
    "--n-layers", min=1, help="LSTM layers (default 3).", show_default=False)]
MaxVocab = Annotated[int | None, typer.Option(
    "--max-vocab", min=2, help="Most words kept in the vocabulary (default 60000).",
    show_default=False)]
MinFreq = Annotated[int | None, typer.Option(
    "--min-freq", min=1, help="Words seen fewer times become xxunk (default 2).",
    show_default=False)]
LMFrozenEpochs = Annotated[int, typer.Option(
    "--frozen-epochs", min=0, help="With --pretrained: the first epochs, training only the "
    "embedding and decoder.")]
LearningRateMultiplier = Annotated[float, typer.Option(
    "--lr-mult", min=1.0, help="With --pretrained / --encoder (learn.fine_tune): once every layer "
    "trains, the first layer group learns lr_mult times slower than the last.")]
PretrainedModel = Annotated[Path | None, typer.Option(
    "--pretrained", metavar="LM.brisk", help="A language model to start from (from `briskml text "
    "pretrain` or `text lm`); its tokenizer and sizes are used.", show_default=False,
    dir_okay=False)]
EncoderModel = Annotated[Path | None, typer.Option(
    "--encoder", metavar="LM.brisk", help="A fine-tuned language model (from `briskml text lm`) or "
    "an --encoder-out file: its encoder, vocabulary and tokenizer start the classifier.",
    show_default=False, dir_okay=False)]

DropMult = Annotated[float, typer.Option("--drop-mult", min=0.0,
                                         help="Multiplies every dropout probability.")]


class EncodingErrorsChoice(str, Enum):
    """--encoding-errors: what to do with bytes that are not UTF-8 (briskml.encoding)."""

    strict = "strict"
    replace = "replace"


EncodingErrors = Annotated[EncodingErrorsChoice, typer.Option(
    "--encoding-errors", help="Bytes that are not UTF-8 in the files read: strict refuses the "
    "file (naming the byte offset), replace reads them as U+FFFD (with a warning).")]

# ----- classifier --------------------------------------------------------------------------------
LabelColumn = Annotated[str, typer.Option(
    "--label-col", metavar="COLUMN", help="The column of classes.", show_default=False)]
ClassifierValidPct = Annotated[float | None, typer.Option(
    "--valid-pct", min=0.0, max=0.99, help="Share of texts drawn at random for validation "
    "(default 0.1).", show_default=False)]
ValidColumn = Annotated[str | None, typer.Option(
    "--valid-col", metavar="COLUMN", help="A boolean or 0/1 column marking the validation texts "
    "(instead of --valid-pct).", show_default=False)]
FrozenEpochs = Annotated[int, typer.Option(
    "--frozen-epochs", min=0, help="With --encoder: the first epochs, training only the head.")]
Gradual = Annotated[bool, typer.Option(
    "--gradual", help="Lesson 3's gradual unfreezing (learn.fit_gradual): --frozen-epochs of the "
    "head, one epoch each unfreezing one more LSTM layer, then --epochs of everything, with "
    "discriminative rates from --lr.")]


@dataclass(frozen=True)
class ModelSizes:
    """--emb-sz, --n-hid, --n-layers: the AWD-LSTM's sizes; None keeps the default (or file's)."""

    emb_sz: int | None = None
    n_hid: int | None = None
    n_layers: int | None = None

    def given(self) -> dict[str, int]:
        """The sizes passed on the command line, as AWDLSTMConfig fields."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    def matching(self, weights: TextWeights, option: str) -> dict[str, Any]:
        """The file's encoder sizes, refusing a size option that disagrees with them."""
        for name, value in self.given().items():
            if weights.config.get(name) != value:
                raise ConfigError(
                    f"--{name.replace('_', '-')} {value} does not match {option} "
                    f"'{weights.source}', whose {name} is {weights.config.get(name)}; leave the "
                    "size options out to take the file's sizes.")
        return {name: weights.config[name] for name in ENCODER_FIELDS}


@dataclass(frozen=True)
class Schedule:
    """How a command trains: from a pretrained start, `learn.fine_tune(epochs, base_lr=lr,
    freeze_epochs=frozen_epochs, lr_mult=lr_mult)`; otherwise `fit_one_cycle(epochs, lr)`."""

    epochs: int
    lr: float
    frozen_epochs: int = 1
    lr_mult: float = 100.0


@dataclass(frozen=True)
class TextOptions:
    """What a text command and its `lr-find` share: the texts and the model."""

    data: Path
    text_col: list[str] | None
    sizes: ModelSizes
    drop_mult: float
    bs: int
    seed: int | None
    device: str | None
    start: Path | None = None          # --pretrained (lm) or --encoder (classify)
    valid_pct: float | None = None
    seq_len: int = 72
    max_vocab: int | None = None
    min_freq: int | None = None
    label_col: str | None = None
    valid_col: str | None = None
    encoding_errors: str = "strict"

    def text_columns(self) -> list[str]:
        """--text-col's names, "text" when it is not given."""
        return column_list(self.text_col) or ["text"]

    def vocab_options(self) -> dict[str, int]:
        """--max-vocab and --min-freq as TextData.from_df arguments (only those given)."""
        given = {"max_vocab": self.max_vocab, "min_freq": self.min_freq}
        return {name: value for name, value in given.items() if value is not None}
