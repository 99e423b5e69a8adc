"""`briskml text pretrain | lm | classify | generate` and `briskml lr-find text-lm | text-classify`:
ULMFiT from the shell, as lesson 3 runs it on IMDb.

Pretrain a language model on general text, fine-tune it on your texts, train a classifier on its
encoder, and generate text. `briskml predict` and `briskml info` read the exported models through
LM_KIND and CLASSIFIER_KIND.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from briskml.cli._common import (
    BatchSize,
    Device,
    Epochs,
    Force,
    LearningRate,
    ModelKind,
    NumIterations,
    OutputModel,
    PlotFile,
    PredictOptions,
    Seed,
    check_device,
    check_input_file,
    check_output,
    column_list,
    finish_training,
    is_parquet,
    note,
    positive_lr,
    print_exported,
    print_lr_suggestions,
    read_table,
)
from briskml.errors import BriskWarning, ConfigError, DataError
from briskml.export import load_learner
from briskml.frames import check_columns
from briskml.learner import Learner
from briskml.text import (
    LanguageModelLearner,
    TextClassifierLearner,
    TextData,
    Tokenizer,
    language_model_learner,
    pretrain_lm,
    text_classifier_learner,
)
from briskml.text.tokenizer import tokenizer_from_json
from briskml.text.transfer import (
    ENCODER_FIELDS,
    TextWeights,
    read_text_weights,
    write_encoder,
)

app = typer.Typer(help="Text (ULMFiT, lesson 3): pretrain and fine-tune a language model, "
                  "classify texts with its encoder, generate text.", no_args_is_help=True)

MOMS = (0.8, 0.7)  # the lessons' momentum for every text fit
# Share of xxunk tokens in a classifier's data above which --encoder's vocabulary is refused
# (it was learnt on other text) or, above the second, questioned with a warning.
MAX_UNKNOWN_SHARE = 0.5
WARN_UNKNOWN_SHARE = 0.1

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
LMUnfrozenLearningRate = Annotated[float | None, typer.Option(
    "--unfrozen-lr", help="With --pretrained: the peak learning rate once every layer trains "
    "(default: --lr / 10).", show_default=False)]
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
    """How a command trains: `frozen_epochs` of the new layers alone (when it starts from a
    pretrained file), then `epochs` of every layer at `unfrozen_lr` (default: a command's own)."""

    epochs: int
    lr: float
    frozen_epochs: int = 1
    unfrozen_lr: float | None = None


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

    def text_columns(self) -> list[str]:
        """--text-col's names, "text" when it is not given."""
        return column_list(self.text_col) or ["text"]

    def vocab_options(self) -> dict[str, int]:
        """--max-vocab and --min-freq as TextData.from_df arguments (only those given)."""
        given = {"max_vocab": self.max_vocab, "min_freq": self.min_freq}
        return {name: value for name, value in given.items() if value is not None}


# ----- pretrain -----------------------------------------------------------------------------------
@app.command()
def pretrain(
    corpus: Annotated[Path, typer.Argument(
        metavar="CORPUS", help="A text file (WikiText articles, or paragraphs separated by blank "
        "lines), a folder of .txt files, or a CSV/Parquet table with --text-col.",
        show_default=False)],
    out: OutputModel, text_col: TextColumns = None, epochs: Epochs = 1,
    lr: LearningRate = 5e-3, bs: BatchSize = 64, seq_len: SeqLen = 72, emb_sz: EmbSize = None,
    n_hid: HiddenSize = None, n_layers: NumLayers = None, drop_mult: DropMult = 1.0,
    max_vocab: MaxVocab = None, min_freq: MinFreq = None, valid_pct: ValidPct = 0.1,
    seed: Seed = None, device: Device = None, force: Force = False) -> None:
    """Train a language model on general text (ULMFiT's first stage) and export it.

    Example: briskml text pretrain wiki.txt --emb-sz 200 --n-hid 400 --n-layers 2 --out wt2.brisk
    """
    check_output(out, force)
    positive_lr(lr)
    check_device(device)
    options = TextOptions(corpus, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, max_vocab=max_vocab, min_freq=min_freq)
    learn = pretrain_lm(_corpus(options), out, config=options.sizes.given() or None,
                        epochs=epochs, lr=lr, bs=bs, seq_len=seq_len, seed=seed,
                        drop_mult=drop_mult, valid_pct=valid_pct, moms=MOMS, overwrite=force,
                        device=device, **options.vocab_options())
    print_exported(out, learn.recorder.values[-1] if learn.recorder.values else {})


def _corpus(options: TextOptions) -> str | list[str]:
    """The texts of a CSV/Parquet corpus; a text file or folder is left to pretrain_lm."""
    path = options.data
    if not path.exists():
        raise FileNotFoundError(f"No such file or folder: '{path}' (CORPUS).")
    if not _is_table(path):
        if options.text_col is not None:
            raise ConfigError(f"--text-col names a column of a CSV or Parquet CORPUS; '{path}' is "
                              "read as plain text. Leave --text-col out.")
        return str(path)
    texts = _texts(read_table(path, "CORPUS"), options.text_columns())
    note(f"{len(texts):,} documents from '{path}'")
    return texts


def _is_table(path: Path) -> bool:
    return is_parquet(path) or ".csv" in [suffix.lower() for suffix in path.suffixes]


def _texts(df: pd.DataFrame, columns: list[str]) -> list[str]:
    check_columns(df, {"--text-col": columns})
    if len(columns) == 1:
        return df[columns[0]].fillna("").astype(str).tolist()
    return df[columns].fillna("").astype(str).agg(" ".join, axis=1).tolist()


# ----- language model -----------------------------------------------------------------------------
@app.command("lm")
def fine_tune_lm(data: TextTable, out: OutputModel, text_col: TextColumns = None,
                 pretrained: PretrainedModel = None, valid_pct: ValidPct = 0.1,
                 epochs: Epochs = 1, frozen_epochs: LMFrozenEpochs = 1,
                 lr: LearningRate = 1e-2, unfrozen_lr: LMUnfrozenLearningRate = None,
                 bs: BatchSize = 64, seq_len: SeqLen = 72, emb_sz: EmbSize = None,
                 n_hid: HiddenSize = None, n_layers: NumLayers = None, drop_mult: DropMult = 0.3,
                 max_vocab: MaxVocab = None, min_freq: MinFreq = None,
                 encoder_out: Annotated[Path | None, typer.Option(
                     "--encoder-out", metavar="FILE", help="Also save the encoder alone (what "
                     "learn.save_encoder writes), for --encoder.", show_default=False,
                     dir_okay=False)] = None,
                 seed: Seed = None, device: Device = None, force: Force = False) -> None:
    """Fine-tune a language model on your texts (or train one from scratch) and export it.

    With --pretrained, as lesson 3: --frozen-epochs training the embedding and decoder at --lr,
    then --epochs with every layer at --unfrozen-lr (default --lr / 10). Without it, --epochs at
    --lr. The export is what `briskml text generate` and `briskml text classify --encoder` take.

    Example: briskml text lm reviews.csv --pretrained wt2.brisk --epochs 2 --out lm.brisk
    """
    check_output(out, force)
    if encoder_out is not None:
        check_output(encoder_out, force, "--encoder-out")
    positive_lr(lr)
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, pretrained, valid_pct, seq_len, max_vocab, min_freq)
    learn = build_lm_learner(options)
    fit_language_model(learn, Schedule(epochs, lr, frozen_epochs, unfrozen_lr),
                       pretrained is not None)
    finish_training(learn, out, force)
    if encoder_out is not None:
        write_encoder(encoder_out, learn.encoder, learn.config, learn.vocab, learn.tokenizer)
        note(f"encoder written to {encoder_out}")


def lr_find_lm(data: TextTable, text_col: TextColumns = None, pretrained: PretrainedModel = None,
               valid_pct: ValidPct = 0.1, bs: BatchSize = 64, seq_len: SeqLen = 72,
               emb_sz: EmbSize = None, n_hid: HiddenSize = None, n_layers: NumLayers = None,
               drop_mult: DropMult = 0.3, max_vocab: MaxVocab = None,
               min_freq: MinFreq = None, seed: Seed = None, device: Device = None,
               num_it: NumIterations = 100, plot: PlotFile = None,
               force: Force = False) -> None:
    """Sweep the learning rate on a language model (frozen when --pretrained, like its first
    stage) and print the suggested rates.

    Example: briskml lr-find text-lm reviews.csv --pretrained wt2.brisk --plot lm_lr_find.png
    """
    if plot is not None:
        check_output(plot, force, "--plot")
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, pretrained, valid_pct, seq_len, max_vocab, min_freq)
    print_lr_suggestions(build_lm_learner(options), num_it, plot)


def build_lm_learner(options: TextOptions) -> LanguageModelLearner:
    """Read the texts, then the same TextData.from_df and language_model_learner calls as in
    Python; a --pretrained model brings its tokenizer and sizes."""
    tokenizer, config = None, options.sizes.given() or None
    if options.start is not None:
        weights = _read_weights(options.start, "--pretrained", need_decoder=True)
        options.sizes.matching(weights, "--pretrained")
        tokenizer, config = _tokenizer_of(weights), None  # the learner takes the file's sizes
    df = read_table(options.data)
    check_columns(df, {"--text-col": options.text_columns()})
    data = TextData.from_df(df, options.text_columns(), for_lm=True, valid_pct=options.valid_pct,
                            seed=options.seed, tokenizer=tokenizer, bs=options.bs,
                            seq_len=options.seq_len, **options.vocab_options())
    note(str(data))
    return language_model_learner(data, config=config, pretrained=options.start,
                                  drop_mult=options.drop_mult, seed=options.seed,
                                  device=options.device)


def fit_language_model(learn: LanguageModelLearner, schedule: Schedule, pretrained: bool
                       ) -> None:
    """Lesson 3's fine-tuning: the new embedding rows and decoder first, then every layer."""
    if not pretrained:
        learn.fit_one_cycle(schedule.epochs, schedule.lr, moms=MOMS)
        return
    if schedule.frozen_epochs:
        note(f"stage 1: embedding and decoder only, {schedule.frozen_epochs} epoch(s) at lr "
             f"{schedule.lr:g}")
        learn.fit_one_cycle(schedule.frozen_epochs, schedule.lr, moms=MOMS)
    unfrozen_lr = schedule.unfrozen_lr or schedule.lr / 10
    note(f"stage 2: every layer, {schedule.epochs} epoch(s) at lr {unfrozen_lr:g}")
    learn.unfreeze()
    learn.fit_one_cycle(schedule.epochs, unfrozen_lr, moms=MOMS)


# ----- classifier ---------------------------------------------------------------------------------
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
UnfrozenLearningRate = Annotated[float | None, typer.Option(
    "--unfrozen-lr", help="The peak learning rate once every layer trains (default: --lr).",
    show_default=False)]
Gradual = Annotated[bool, typer.Option(
    "--gradual", help="Lesson 3's gradual unfreezing (learn.fit_gradual): --frozen-epochs of the "
    "head, one epoch each unfreezing one more LSTM layer, then --epochs of everything, with "
    "discriminative rates from --lr.")]


@app.command()
def classify(data: TextTable, label_col: LabelColumn, out: OutputModel,
             text_col: TextColumns = None, encoder: EncoderModel = None,
             valid_col: ValidColumn = None, valid_pct: ClassifierValidPct = None,
             gradual: Gradual = False, epochs: Epochs = 2, frozen_epochs: FrozenEpochs = 1,
             lr: LearningRate = 2e-2, unfrozen_lr: UnfrozenLearningRate = None,
             bs: BatchSize = 64, emb_sz: EmbSize = None, n_hid: HiddenSize = None,
             n_layers: NumLayers = None, drop_mult: DropMult = 0.5,
             max_vocab: MaxVocab = None, min_freq: MinFreq = None, seed: Seed = None,
             device: Device = None, force: Force = False) -> None:
    """Train a text classifier (on a language model's encoder with --encoder) and export it.

    With --encoder the texts are read with the language model's tokenizer and vocabulary, and
    training runs --frozen-epochs of the head at --lr, then --epochs of every layer at
    --unfrozen-lr (default --lr); --gradual runs the lessons' gradual unfreezing instead.

    Example: briskml text classify reviews.csv --label-col label --encoder lm.brisk --out cls.brisk
    """
    check_output(out, force)
    positive_lr(lr)
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, encoder, valid_pct, max_vocab=max_vocab,
                          min_freq=min_freq, label_col=label_col, valid_col=valid_col)
    learn = build_classifier_learner(options)
    fit_classifier(learn, Schedule(epochs, lr, frozen_epochs, unfrozen_lr), gradual,
                   encoder is not None)
    finish_training(learn, out, force)


def lr_find_classifier(data: TextTable, label_col: LabelColumn, text_col: TextColumns = None,
                       encoder: EncoderModel = None, valid_col: ValidColumn = None,
                       valid_pct: ClassifierValidPct = None, bs: BatchSize = 64,
                       emb_sz: EmbSize = None, n_hid: HiddenSize = None,
                       n_layers: NumLayers = None, drop_mult: DropMult = 0.5,
                       max_vocab: MaxVocab = None, min_freq: MinFreq = None, seed: Seed = None,
                       device: Device = None, num_it: NumIterations = 100,
                       plot: PlotFile = None, force: Force = False) -> None:
    """Sweep the learning rate on a text classifier (its head alone with --encoder, like the
    first stage) and print the suggested rates.

    Example: briskml lr-find text-classify reviews.csv --label-col label --encoder lm.brisk
    """
    if plot is not None:
        check_output(plot, force, "--plot")
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, encoder, valid_pct, max_vocab=max_vocab,
                          min_freq=min_freq, label_col=label_col, valid_col=valid_col)
    print_lr_suggestions(build_classifier_learner(options), num_it, plot)


def build_classifier_learner(options: TextOptions) -> TextClassifierLearner:
    """Read the texts, then the same TextData.from_df, text_classifier_learner and load_encoder
    calls as in Python; an --encoder brings its tokenizer, vocabulary and sizes."""
    if options.valid_col is not None and options.valid_pct is not None:
        raise ConfigError("Pass --valid-pct or --valid-col, not both.")
    weights, config = None, options.sizes.given() or None
    if options.start is not None:
        _refuse_vocab_options(options)
        weights = _read_weights(options.start, "--encoder")
        config = options.sizes.matching(weights, "--encoder")
    df = read_table(options.data)
    check_columns(df, {"--text-col": options.text_columns(), "--label-col": [options.label_col],
                       **({"--valid-col": [options.valid_col]} if options.valid_col else {})})
    data = TextData.from_df(
        df, options.text_columns(), label_col=options.label_col, valid_col=options.valid_col,
        valid_pct=0.1 if options.valid_pct is None else options.valid_pct, seed=options.seed,
        vocab=weights.vocab if weights else None, tokenizer=_tokenizer_of(weights),
        bs=options.bs, **options.vocab_options())
    note(str(data))
    if weights is not None:
        check_vocabulary_covers(data, options)
    learn = text_classifier_learner(data, config=config, drop_mult=options.drop_mult,
                                    seed=options.seed, device=options.device)
    if options.start is not None:
        learn.load_encoder(options.start)
    return learn


def fit_classifier(learn: TextClassifierLearner, schedule: Schedule, gradual: bool,
                   from_encoder: bool) -> None:
    """The head alone first when the encoder is pretrained, then every layer (or fit_gradual)."""
    if gradual:
        learn.fit_gradual(lr=schedule.lr, epochs=(schedule.frozen_epochs, 1, 1, schedule.epochs),
                          moms=MOMS)
        return
    if from_encoder and schedule.frozen_epochs:
        note(f"stage 1: the classifier head only, {schedule.frozen_epochs} epoch(s) at lr "
             f"{schedule.lr:g}")
        learn.fit_one_cycle(schedule.frozen_epochs, schedule.lr, moms=MOMS)
    unfrozen_lr = schedule.unfrozen_lr or schedule.lr
    if from_encoder:
        note(f"stage 2: every layer, {schedule.epochs} epoch(s) at lr {unfrozen_lr:g}")
    learn.unfreeze()
    learn.fit_one_cycle(schedule.epochs, unfrozen_lr, moms=MOMS)


def check_vocabulary_covers(data: TextData, options: TextOptions) -> None:
    """Refuse an encoder whose vocabulary reads most of the texts as xxunk (it was learnt on
    other text); warn when many words are unknown to it."""
    ids = np.asarray(data.ids)
    share = np.count_nonzero(ids == data.vocab.unk_id) / max(len(ids), 1)
    pretrained = f"'{options.start}'" if options.start.suffix == ".brisk" else "LM.brisk"
    fix = (f"fine-tune a language model on these texts first (briskml text lm '{options.data}' "
           f"--pretrained {pretrained} --out fine_tuned_lm.brisk) and pass that as --encoder")
    if share > MAX_UNKNOWN_SHARE:
        raise DataError(f"{share:.0%} of the tokens of '{options.data}' are unknown to the "
                        f"vocabulary of --encoder '{options.start}' ({len(data.vocab):,} tokens), "
                        f"which was learnt on other text; {fix}.")
    if share > WARN_UNKNOWN_SHARE:
        warnings.warn(f"{share:.0%} of the tokens of '{options.data}' are unknown to the "
                      f"vocabulary of --encoder '{options.start}' and read as xxunk; to do "
                      f"better, {fix}.", BriskWarning, stacklevel=2)


def _refuse_vocab_options(options: TextOptions) -> None:
    if options.vocab_options():
        names = ", ".join(f"--{name.replace('_', '-')}" for name in options.vocab_options())
        raise ConfigError(f"{names} cannot be used with --encoder: the classifier reads the "
                          "texts with the encoder's own vocabulary.")


def _read_weights(path: Path, option: str, need_decoder: bool = False) -> TextWeights:
    check_input_file(path, option)
    return read_text_weights(path, need_decoder=need_decoder)


def _tokenizer_of(weights: TextWeights | None) -> Any:
    """The tokenizer a model file was trained with (the default word tokenizer if it has none)."""
    if weights is None or weights.tokenizer is None:
        return Tokenizer()
    return tokenizer_from_json(weights.tokenizer, weights.source)


# ----- generate -----------------------------------------------------------------------------------
@app.command()
def generate(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="An exported language model "
                                          "(.brisk).", show_default=False)],
    prompt: Annotated[str, typer.Argument(
        metavar="PROMPT", help="The text to continue (default: a new document).")] = "",
    n_words: Annotated[int, typer.Option("-n", "--n-words", min=1, help="Words to add.")] = 50,
    temperature: Annotated[float, typer.Option(
        "--temperature", min=0.0, help="Below 1: safer words; 0: always the likeliest.")] = 1.0,
    top_k: Annotated[int | None, typer.Option(
        "--top-k", min=1, help="Draw only among the k likeliest words.", show_default=False)
    ] = None,
    min_p: Annotated[float | None, typer.Option(
        "--min-p", min=0.0, max=0.99, help="Never draw a word less likely than this.",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed for the sampling: the same seed gives the same text.",
        show_default=False)] = None,
) -> None:
    """Continue a text with an exported language model and print it (the prompt included).

    Example: briskml text generate lm.brisk "I liked this movie because" -n 40 --seed 0
    """
    learn = _load_language_model(model)
    print(learn.predict(prompt, n_words=n_words, temperature=temperature, min_p=min_p,
                        top_k=top_k, seed=seed))


def _load_language_model(path: Path) -> LanguageModelLearner:
    check_input_file(path, "MODEL")
    learn = load_learner(path)
    if not isinstance(learn, LanguageModelLearner):
        raise ConfigError(f"'{path}' holds a {learn.kind} model; text generate needs a language "
                          "model made by `briskml text lm` or `briskml text pretrain`.")
    return learn


# ----- exported text models: predict and info -----------------------------------------------------
def _predict_classes(learn: Learner, rows: pd.DataFrame, options: PredictOptions
                     ) -> pd.DataFrame:
    columns = options.text_cols or [_guess_text_column(rows)]
    check_columns(rows, {"--text-col": columns})
    return learn.predict(rows, text_cols=columns)


def _guess_text_column(rows: pd.DataFrame) -> str:
    """A column named "text", else the only column holding strings."""
    if "text" in rows.columns:
        return "text"
    strings = [name for name in rows.columns
               if pd.api.types.is_string_dtype(rows[name].dtype) or rows[name].dtype == object]
    if len(strings) == 1:
        return strings[0]
    raise DataError(f"Name the column of texts with --text-col; the input has no column named "
                    f"'text' and its columns are {list(rows.columns)}.")


def _describe_text_model(document: dict[str, Any]) -> list[tuple[str, str]]:
    extra = document["extra"]
    lines = _describe_vocabulary(extra["vocab"], extra.get("tokenizer"))
    if extra.get("backwards"):
        lines.append(("direction", "backwards (reads each text from its end)"))
    return lines


def _describe_vocabulary(vocab: dict[str, Any], tokenizer: dict[str, Any] | None
                         ) -> list[tuple[str, str]]:
    tokens = vocab["tokens"]
    words = [token for token in tokens if token.isalpha() and not token.startswith("xx")][:5]
    settings = (tokenizer or {}).get("settings", {"kind": "word (the default)"})
    described = ", ".join(f"{name} {settings[name]}" for name in
                          ("kind", "lang", "model_type", "vocab_sz") if name in settings)
    return [("vocabulary", f"{len(tokens):,} tokens, e.g. {', '.join(words)}"),
            ("tokenizer", described)]


def _describe_language_model(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [*_describe_text_model(document),
            ("use", 'briskml text generate MODEL "prompt"; or as --pretrained / --encoder')]


def _describe_classifier(document: dict[str, Any]) -> list[tuple[str, str]]:
    classes = document["extra"]["classes"]
    return [*_describe_text_model(document),
            ("classes", f"{len(classes)}: " + ", ".join(str(label) for label in classes))]


def describe_encoder(document: dict[str, Any]) -> list[tuple[str, str]]:
    """`briskml info` lines for an encoder file (learn.save_encoder, `text lm --encoder-out`)."""
    sizes = ", ".join(f"{name} {value}" for name, value in document["config"].items())
    return [("content", "a text encoder (embedding and LSTMs) with its vocabulary"),
            ("sizes", sizes),
            *_describe_vocabulary(document["vocab"], document.get("tokenizer")),
            ("use", "briskml text classify DATA --label-col COLUMN --encoder FILE")]


LM_KIND = ModelKind(
    describe=_describe_language_model, predict=None,
    instead='a language model continues a text rather than predicting rows: run `briskml text '
            'generate {model} "a prompt"`, or train a classifier on it with `briskml text '
            'classify DATA --label-col COLUMN --encoder {model}`.')
CLASSIFIER_KIND = ModelKind(describe=_describe_classifier, predict=_predict_classes,
                            reads_text=True)
