"""`briskml tabular train` and `briskml lr-find tabular`: a table in, a tabular model out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
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
    check_output,
    checkpointing,
    column_list,
    finish_training,
    int_list,
    note,
    positive_lr,
    print_lr_suggestions,
    read_table,
)
from briskml.errors import DataError
from briskml.frames import check_columns
from briskml.metrics import accuracy, rmse
from briskml.splits import valid_col_mask
from briskml.tabular import (
    TabularData,
    TabularLearner,
    cont_cat_split,
    tabular_learner,
)

app = typer.Typer(help="Tabular models (the lessons' Adult workflow) on a CSV or Parquet table.",
                  no_args_is_help=True)

DataFile = Annotated[Path, typer.Argument(
    metavar="DATA", help="The table: a CSV file, or Parquet (*.parquet).", show_default=False)]
Target = Annotated[list[str], typer.Option(
    "--y", metavar="COLUMN", help="The column to predict (repeat it for several 0/1 columns: "
    "multi-label).", show_default=False)]
CatNames = Annotated[list[str] | None, typer.Option(
    "--cat", metavar="COLUMN", help="A categorical input column (repeat it, or separate names "
    "with commas). With neither --cat nor --cont, cont_cat_split guesses both.",
    show_default=False)]
ContNames = Annotated[list[str] | None, typer.Option(
    "--cont", metavar="COLUMN", help="A continuous input column (repeat it, or separate names "
    "with commas).", show_default=False)]
ValidPct = Annotated[float | None, typer.Option(
    "--valid-pct", min=0.0, max=0.99, help="Share of rows drawn at random for validation "
    "(default 0.2).", show_default=False)]
ValidCol = Annotated[str | None, typer.Option(
    "--valid-col", metavar="COLUMN", help="A boolean or 0/1 column marking the validation rows "
    "(instead of --valid-pct).", show_default=False)]
Layers = Annotated[str, typer.Option("--layers", metavar="SIZES",
                                     help="Sizes of the hidden layers.")]
WeightDecay = Annotated[float | None, typer.Option(
    "--wd", min=0.0, help="Weight decay (default 0.01).", show_default=False)]
YBlock = Annotated[str | None, typer.Option(
    "--y-block", metavar="KIND", help="category, regression or multi_label, when the guess from "
    "y's type is wrong (e.g. 0/1 integers meant as classes).", show_default=False)]



@dataclass(frozen=True)
class TabularOptions:
    """What `tabular train` and `lr-find tabular` share: the data and the model."""

    data: Path
    y: list[str]
    cat: list[str] | None
    cont: list[str] | None
    valid_pct: float | None
    valid_col: str | None
    layers: str
    bs: int
    wd: float | None
    seed: int | None
    y_block: str | None
    device: str | None


@app.command()
def train(data: DataFile, y: Target, out: OutputModel, cat: CatNames = None,
          cont: ContNames = None, valid_pct: ValidPct = None, valid_col: ValidCol = None,
          layers: Layers = "200,100", epochs: Epochs = 5, lr: LearningRate = 1e-2,
          bs: BatchSize = 64, wd: WeightDecay = None, seed: Seed = None,
          y_block: YBlock = None, device: Device = None, force: Force = False,
          checkpoint_dir: CheckpointDir = None, resume: Resume = False) -> None:
    """Train a tabular model with fit_one_cycle and export it to one .brisk file.

    Example: briskml tabular train adult.csv --y salary --epochs 3 --out adult.brisk
    """
    check_output(out, force)
    fit_options = checkpointing(out, checkpoint_dir, resume)   # before any work
    positive_lr(lr)
    check_device(device)
    options = TabularOptions(data, y, cat, cont, valid_pct, valid_col, layers, bs, wd, seed,
                             y_block, device)
    learn = build_learner(options)
    learn.fit_one_cycle(epochs, lr, **fit_options)
    finish_training(learn, out, force)


def lr_find(data: DataFile, y: Target, cat: CatNames = None, cont: ContNames = None,
            valid_pct: ValidPct = None, valid_col: ValidCol = None, layers: Layers = "200,100",
            bs: BatchSize = 64, wd: WeightDecay = None, seed: Seed = None,
            y_block: YBlock = None, device: Device = None, num_it: NumIterations = 100,
            plot: PlotFile = None, force: Force = False) -> None:
    """Sweep the learning rate on a tabular model and print the suggested rates.

    Example: briskml lr-find tabular adult.csv --y salary --plot lr_find.png
    """
    if plot is not None:
        check_output(plot, force, "--plot")
    check_device(device)
    options = TabularOptions(data, y, cat, cont, valid_pct, valid_col, layers, bs, wd, seed,
                             y_block, device)
    print_lr_suggestions(build_learner(options), num_it, plot)


def build_learner(options: TabularOptions) -> TabularLearner:
    """Read the table, then the same TabularData.from_df and tabular_learner calls as in Python."""
    layers, valid_pct = int_list(options.layers, "--layers"), _valid_pct(options)
    df = read_table(options.data)
    check_columns(df, {"--y": options.y})
    cat_names, cont_names = _input_columns(df, options)
    data = TabularData.from_df(df, y=options.y, cat_names=cat_names, cont_names=cont_names,
                               valid_idx=_valid_rows(df, options.valid_col), valid_pct=valid_pct,
                               seed=options.seed, bs=options.bs, y_block=options.y_block)
    metrics = {"category": [accuracy], "regression": [rmse]}.get(data.pipeline.y_kind, [])
    return tabular_learner(data, layers=layers, metrics=metrics, wd=options.wd,
                           seed=options.seed, device=options.device)


def _input_columns(df: pd.DataFrame, options: TabularOptions
                   ) -> tuple[list[str], list[str]]:
    """--cat/--cont as given; when both are missing, cont_cat_split's guess, printed."""
    cat_names, cont_names = column_list(options.cat), column_list(options.cont)
    if cat_names is not None or cont_names is not None:
        return cat_names or [], cont_names or []
    excluded = [*options.y, *([options.valid_col] if options.valid_col else [])]
    guessed_cont, guessed_cat = cont_cat_split(df, dep_var=excluded)
    note("no --cat/--cont given; cont_cat_split guessed (pass them to choose):")
    note(f"  --cat {','.join(guessed_cat) or '(none)'}")
    note(f"  --cont {','.join(guessed_cont) or '(none)'}")
    return guessed_cat, guessed_cont


def _valid_pct(options: TabularOptions) -> float:
    if options.valid_col is not None and options.valid_pct is not None:
        raise DataError("Pass --valid-pct or --valid-col, not both.")
    return 0.2 if options.valid_pct is None else options.valid_pct


def _valid_rows(df: pd.DataFrame, valid_col: str | None) -> np.ndarray | None:
    """Positions of the rows whose --valid-col is true (bool, 0/1, or true/false text)."""
    mask = valid_col_mask(df, valid_col, "--valid-col")
    return None if mask is None else np.flatnonzero(mask)

