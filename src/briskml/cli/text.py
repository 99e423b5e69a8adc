"""`briskml text pretrain | lm | classify | generate` and `briskml lr-find text-lm | text-classify`:
ULMFiT from the shell, as lesson 3 runs it on IMDb.

Pretrain a language model on general text, fine-tune it on your texts, train a classifier on its
encoder, and generate text. `briskml predict` and `briskml info` read the exported models by asking
the loaded learner (`predict_table`, `describe`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from briskml.cli._common import (
    BatchSize,
    CheckpointDir,
    Device,
    Epochs,
    Force,
    LearningRate,
    NumIterations,
    OutputModel,
    PlotFile,
    Resume,
    Seed,
    check_device,
    check_input_file,
    check_output,
    checkpointing,
    finish_training,
    is_parquet,
    note,
    positive_lr,
    print_exported,
    print_lr_suggestions,
    read_table,
)
from briskml.cli.text_options import (
    ClassifierValidPct,
    DropMult,
    EmbSize,
    EncoderModel,
    EncodingErrors,
    EncodingErrorsChoice,
    FrozenEpochs,
    Gradual,
    HiddenSize,
    LabelColumn,
    LearningRateMultiplier,
    LMFrozenEpochs,
    MaxVocab,
    MinFreq,
    ModelSizes,
    NumLayers,
    PretrainedModel,
    Schedule,
    SeqLen,
    TextColumns,
    TextOptions,
    TextTable,
    ValidColumn,
    ValidPct,
)
from briskml.encoding import check_utf8_file, first_invalid_utf8, invalid_utf8_error
from briskml.errors import ConfigError, FileFormatError
from briskml.export import load_learner
from briskml.frames import check_columns
from briskml.schema import in_file
from briskml.text import (
    LanguageModelLearner,
    TextClassifierLearner,
    TextData,
    Tokenizer,
    language_model_learner,
    pretrain_lm,
    text_classifier_learner,
)
from briskml.text.tokenizer import (
    TextReport,
    join_fields,
    tokenizer_from_json,
)
from briskml.text.transfer import (
    TextWeights,
    check_vocabulary_covers,
    read_text_weights,
    write_encoder,
)

app = typer.Typer(help="Text (ULMFiT, lesson 3): pretrain and fine-tune a language model, "
                  "classify texts with its encoder, generate text.", no_args_is_help=True)


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
    seed: Seed = None, device: Device = None, force: Force = False,
    encoding_errors: EncodingErrors = EncodingErrorsChoice.strict,
    checkpoint_dir: CheckpointDir = None, resume: Resume = False) -> None:
    """Train a language model on general text (ULMFiT's first stage) and export it.

    Example: briskml text pretrain wiki.txt --emb-sz 200 --n-hid 400 --n-layers 2 --out wt2.brisk
    """
    check_output(out, force)
    fit_options = checkpointing(out, checkpoint_dir, resume)   # before any work
    positive_lr(lr)
    check_device(device)
    options = TextOptions(corpus, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, max_vocab=max_vocab, min_freq=min_freq,
                          encoding_errors=encoding_errors.value)
    learn = pretrain_lm(_corpus(options), out, config=options.sizes.given() or None,
                        epochs=epochs, lr=lr, bs=bs, seq_len=seq_len, seed=seed,
                        drop_mult=drop_mult, valid_pct=valid_pct, overwrite=force,
                        device=device, encoding_errors=options.encoding_errors,
                        **fit_options, **options.vocab_options())
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
    table = read_text_table(path, options.encoding_errors, "CORPUS")
    check_columns(table, {"--text-col": options.text_columns()})
    report = TextReport()   # one warning; missing and empty texts are left out, as in a file
    texts = join_fields(table, options.text_columns(), report=report)
    report.warn("they are left out of the corpus")
    texts = [text for text in texts if text.strip()]
    note(f"{len(texts):,} documents from '{path}'")
    return texts


def _is_table(path: Path) -> bool:
    return is_parquet(path) or ".csv" in [suffix.lower() for suffix in path.suffixes]


def read_text_table(path: Path, encoding_errors: str, what: str = "DATA") -> pd.DataFrame:
    """`read_table` under the text rule for bytes that are not UTF-8: refused naming the byte
    offset (strict; pandas counts from its buffer, not the file), or read as U+FFFD with a
    warning (replace)."""
    if is_parquet(path):
        return read_table(path, what)
    check_input_file(path, what)
    if encoding_errors == "replace" and check_utf8_file(path, "replace"):
        try:
            return pd.read_csv(path, encoding_errors="replace")
        except Exception as error:  # pandas raises many types for a bad file
            raise FileFormatError(f"Could not read '{path}' as CSV ({error}). Give a CSV file "
                                  "with a header row, or a Parquet file named *.parquet.") from None
    try:
        return read_table(path, what)
    except FileFormatError as error:
        found = first_invalid_utf8(path) if isinstance(error.__cause__, UnicodeDecodeError) \
            else None
        if found is None:
            raise
        raise invalid_utf8_error(str(path), *found) from None


# ----- language model -----------------------------------------------------------------------------
@app.command("lm")
def fine_tune_lm(data: TextTable, out: OutputModel, text_col: TextColumns = None,
                 pretrained: PretrainedModel = None, valid_pct: ValidPct = 0.1,
                 epochs: Epochs = 1, frozen_epochs: LMFrozenEpochs = 1,
                 lr: LearningRate = 1e-2, lr_mult: LearningRateMultiplier = 100.0,
                 bs: BatchSize = 64, seq_len: SeqLen = 72, emb_sz: EmbSize = None,
                 n_hid: HiddenSize = None, n_layers: NumLayers = None, drop_mult: DropMult = 0.3,
                 max_vocab: MaxVocab = None, min_freq: MinFreq = None,
                 encoder_out: Annotated[Path | None, typer.Option(
                     "--encoder-out", metavar="FILE", help="Also save the encoder alone (what "
                     "learn.save_encoder writes), for --encoder.", show_default=False,
                     dir_okay=False)] = None,
                 seed: Seed = None, device: Device = None, force: Force = False,
                 encoding_errors: EncodingErrors = EncodingErrorsChoice.strict,
                 checkpoint_dir: CheckpointDir = None, resume: Resume = False) -> None:
    """Fine-tune a language model on your texts (or train one from scratch) and export it.

    With --pretrained, learn.fine_tune: --frozen-epochs training the embedding and decoder at
    --lr, then --epochs with every layer at half of it, the first layers --lr-mult times slower.
    Without it, --epochs of one cycle at --lr. The export is what `briskml text generate` and
    `briskml text classify --encoder` take.

    Example: briskml text lm reviews.csv --pretrained wt2.brisk --epochs 2 --out lm.brisk
    """
    check_output(out, force)
    fit_options = checkpointing(out, checkpoint_dir, resume)   # before any work
    if encoder_out is not None:
        check_output(encoder_out, force, "--encoder-out")
    positive_lr(lr)
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, pretrained, valid_pct, seq_len, max_vocab, min_freq,
                          encoding_errors=encoding_errors.value)
    learn = build_lm_learner(options)
    fit_schedule(learn, Schedule(epochs, lr, frozen_epochs, lr_mult), pretrained is not None,
                 **fit_options)
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
               force: Force = False,
               encoding_errors: EncodingErrors = EncodingErrorsChoice.strict) -> None:
    """Sweep the learning rate on a language model (frozen when --pretrained, like its first
    stage) and print the suggested rates.

    Example: briskml lr-find text-lm reviews.csv --pretrained wt2.brisk --plot lm_lr_find.png
    """
    if plot is not None:
        check_output(plot, force, "--plot")
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, pretrained, valid_pct, seq_len, max_vocab, min_freq,
                          encoding_errors=encoding_errors.value)
    print_lr_suggestions(build_lm_learner(options), num_it, plot)


def build_lm_learner(options: TextOptions) -> LanguageModelLearner:
    """Read the texts, then the same TextData.from_df and language_model_learner calls as in
    Python; a --pretrained model brings its tokenizer and sizes."""
    tokenizer, config = None, options.sizes.given() or None
    if options.start is not None:
        weights = _read_weights(options.start, "--pretrained", need_decoder=True)
        options.sizes.matching(weights, "--pretrained")
        tokenizer, config = _tokenizer_of(weights), None  # the learner takes the file's sizes
    df = read_text_table(options.data, options.encoding_errors)
    check_columns(df, {"--text-col": options.text_columns()})
    data = TextData.from_df(df, options.text_columns(), for_lm=True, valid_pct=options.valid_pct,
                            seed=options.seed, tokenizer=tokenizer, bs=options.bs,
                            seq_len=options.seq_len, **options.vocab_options())
    note(str(data))
    return language_model_learner(data, config=config, pretrained=options.start,
                                  drop_mult=options.drop_mult, seed=options.seed,
                                  device=options.device)


def fit_schedule(learn: LanguageModelLearner | TextClassifierLearner, schedule: Schedule,
                 pretrained: bool, gradual: bool = False, **fit_options: Any) -> None:
    """Train as the command says: `fit_gradual` (--gradual), `fine_tune` from a pretrained
    start (the new layers first, then every layer), else one cycle of every layer;
    `fit_options` (callbacks, resume) go to that call."""
    if gradual:
        learn.fit_gradual(lr=schedule.lr, epochs=(schedule.frozen_epochs, 1, 1, schedule.epochs),
                          **fit_options)
    elif pretrained:
        base_lr = schedule.lr / 2
        note(f"fine_tune: {schedule.frozen_epochs} epoch(s) of the new layers at lr "
             f"{schedule.lr:g}, then {schedule.epochs} of every layer over "
             f"slice({base_lr / schedule.lr_mult:g}, {base_lr:g})")
        learn.fine_tune(schedule.epochs, base_lr=schedule.lr,
                        freeze_epochs=schedule.frozen_epochs, lr_mult=schedule.lr_mult,
                        **fit_options)
    else:
        learn.fit_one_cycle(schedule.epochs, schedule.lr, **fit_options)


# ----- classifier ---------------------------------------------------------------------------------
@app.command()
def classify(data: TextTable, label_col: LabelColumn, out: OutputModel,
             text_col: TextColumns = None, encoder: EncoderModel = None,
             valid_col: ValidColumn = None, valid_pct: ClassifierValidPct = None,
             gradual: Gradual = False, epochs: Epochs = 2, frozen_epochs: FrozenEpochs = 1,
             lr: LearningRate = 2e-2, lr_mult: LearningRateMultiplier = 100.0,
             bs: BatchSize = 64, emb_sz: EmbSize = None, n_hid: HiddenSize = None,
             n_layers: NumLayers = None, drop_mult: DropMult = 0.5,
             max_vocab: MaxVocab = None, min_freq: MinFreq = None, seed: Seed = None,
             device: Device = None, force: Force = False,
             encoding_errors: EncodingErrors = EncodingErrorsChoice.strict,
             checkpoint_dir: CheckpointDir = None, resume: Resume = False) -> None:
    """Train a text classifier (on a language model's encoder with --encoder) and export it.

    With --encoder the texts are read with the language model's tokenizer and vocabulary, and
    training is learn.fine_tune: --frozen-epochs of the head at --lr, then --epochs of every
    layer at half of it, the first layers --lr-mult times slower; --gradual runs the lessons'
    gradual unfreezing (learn.fit_gradual) instead.

    Example: briskml text classify reviews.csv --label-col label --encoder lm.brisk --out cls.brisk
    """
    check_output(out, force)
    fit_options = checkpointing(out, checkpoint_dir, resume)   # before any work
    positive_lr(lr)
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, encoder, valid_pct, max_vocab=max_vocab,
                          min_freq=min_freq, label_col=label_col, valid_col=valid_col,
                          encoding_errors=encoding_errors.value)
    learn = build_classifier_learner(options)
    fit_schedule(learn, Schedule(epochs, lr, frozen_epochs, lr_mult), encoder is not None,
                 gradual, **fit_options)
    finish_training(learn, out, force)


def lr_find_classifier(data: TextTable, label_col: LabelColumn, text_col: TextColumns = None,
                       encoder: EncoderModel = None, valid_col: ValidColumn = None,
                       valid_pct: ClassifierValidPct = None, bs: BatchSize = 64,
                       emb_sz: EmbSize = None, n_hid: HiddenSize = None,
                       n_layers: NumLayers = None, drop_mult: DropMult = 0.5,
                       max_vocab: MaxVocab = None, min_freq: MinFreq = None, seed: Seed = None,
                       device: Device = None, num_it: NumIterations = 100,
                       plot: PlotFile = None, force: Force = False,
                       encoding_errors: EncodingErrors = EncodingErrorsChoice.strict) -> None:
    """Sweep the learning rate on a text classifier (its head alone with --encoder, like the
    first stage) and print the suggested rates.

    Example: briskml lr-find text-classify reviews.csv --label-col label --encoder lm.brisk
    """
    if plot is not None:
        check_output(plot, force, "--plot")
    check_device(device)
    options = TextOptions(data, text_col, ModelSizes(emb_sz, n_hid, n_layers), drop_mult, bs,
                          seed, device, encoder, valid_pct, max_vocab=max_vocab,
                          min_freq=min_freq, label_col=label_col, valid_col=valid_col,
                          encoding_errors=encoding_errors.value)
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
    df = read_text_table(options.data, options.encoding_errors)
    check_columns(df, {"--text-col": options.text_columns(), "--label-col": [options.label_col],
                       **({"--valid-col": [options.valid_col]} if options.valid_col else {})})
    data = TextData.from_df(
        df, options.text_columns(), label_col=options.label_col, valid_col=options.valid_col,
        valid_pct=0.1 if options.valid_pct is None else options.valid_pct, seed=options.seed,
        vocab=weights.vocab if weights else None, tokenizer=_tokenizer_of(weights),
        bs=options.bs, **options.vocab_options())
    note(str(data))
    if weights is not None:
        pretrained = f"'{options.start}'" if options.start.suffix == ".brisk" else "LM.brisk"
        check_vocabulary_covers(data, f"--encoder '{options.start}'", f"'{options.data}'",
                                f"fine-tune a language model on these texts first (briskml text "
                                f"lm '{options.data}' --pretrained {pretrained} --out "
                                "fine_tuned_lm.brisk) and pass that as --encoder")
    learn = text_classifier_learner(data, config=config, drop_mult=options.drop_mult,
                                    seed=options.seed, device=options.device)
    if options.start is not None:
        learn.load_encoder(options.start)
    return learn


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
    with in_file(weights.source, "tokenizer"):
        return tokenizer_from_json(weights.tokenizer, f"'{weights.source}'")


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
