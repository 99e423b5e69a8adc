"""`briskml collab train | recommend` and `briskml lr-find collab`: ratings in, recommendations
out."""

from __future__ import annotations

from dataclasses import dataclass
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
    column_list,
    finish_training,
    id_like,
    int_list,
    positive_lr,
    print_lr_suggestions,
    read_table,
)
from briskml.collab import CollabData, CollabLearner, collab_learner
from briskml.collab.pipeline import CollabPipeline
from briskml.errors import ConfigError, DataError
from briskml.export import load_learner

app = typer.Typer(help="Collaborative filtering (lesson 5): ratings in, recommendations out.",
                  no_args_is_help=True)

RatingsFile = Annotated[Path, typer.Argument(
    metavar="DATA", help="The ratings: a CSV or Parquet file with one (user, item, rating) per "
    "row.", show_default=False)]
UserColumn = Annotated[str | None, typer.Option(
    "--user", metavar="COLUMN", help="The user id column (default: the first column).",
    show_default=False)]
ItemColumn = Annotated[str | None, typer.Option(
    "--item", metavar="COLUMN", help="The item id column (default: the second column).",
    show_default=False)]
RatingColumn = Annotated[str | None, typer.Option(
    "--rating", metavar="COLUMN", help="The rating column (default: the third column).",
    show_default=False)]
TitlesFile = Annotated[Path | None, typer.Option(
    "--titles", metavar="FILE", help="A CSV or Parquet file with the item column and a title "
    "column, so outputs show titles.", show_default=False, dir_okay=False)]
TitleColumn = Annotated[str, typer.Option("--title-col", metavar="COLUMN",
                                          help="The title column of --titles.")]
ValidPct = Annotated[float, typer.Option(
    "--valid-pct", min=0.0, max=0.99, help="Share of ratings drawn at random for validation.")]
NumFactors = Annotated[int, typer.Option("--n-factors", min=1, help="Factors per user and item.")]
YRange = Annotated[tuple[float, float] | None, typer.Option(
    "--y-range", help="LO HI: squash predictions into this range, e.g. 0 5.5 for 0.5-5 stars.",
    show_default=False)]
UseNN = Annotated[bool, typer.Option(
    "--use-nn", help="An embedding MLP instead of the dot-product model.")]
NNLayers = Annotated[str, typer.Option("--layers", metavar="SIZES",
                                       help="Hidden layers of the --use-nn model.")]
WeightDecay = Annotated[float, typer.Option("--wd", min=0.0, help="Weight decay (the lesson's).")]
ModelFile = Annotated[Path, typer.Argument(metavar="MODEL", help="An exported collab model "
                                           "(.brisk).", show_default=False)]


@dataclass(frozen=True)
class CollabOptions:
    """What `collab train` and `lr-find collab` share: the ratings and the model."""

    data: Path
    user: str | None
    item: str | None
    rating: str | None
    titles: Path | None
    title_col: str
    valid_pct: float
    n_factors: int
    y_range: tuple[float, float] | None
    use_nn: bool
    layers: str
    bs: int
    wd: float
    seed: int | None
    device: str | None


@app.command()
def train(data: RatingsFile, out: OutputModel, user: UserColumn = None, item: ItemColumn = None,
          rating: RatingColumn = None, titles: TitlesFile = None, title_col: TitleColumn = "title",
          valid_pct: ValidPct = 0.1, n_factors: NumFactors = 50, y_range: YRange = None,
          use_nn: UseNN = False, layers: NNLayers = "100,50", epochs: Epochs = 5,
          lr: LearningRate = 5e-3, bs: BatchSize = 64, wd: WeightDecay = 0.1, seed: Seed = None,
          device: Device = None, force: Force = False,
          checkpoint_dir: CheckpointDir = None, resume: Resume = False) -> None:
    """Train a collaborative-filtering model with fit_one_cycle and export it.

    Example: briskml collab train ratings.csv --y-range 0 5.5 --out movies.brisk
    """
    check_output(out, force)
    fit_options = checkpointing(out, checkpoint_dir, resume)   # before any work
    positive_lr(lr)
    check_device(device)
    options = CollabOptions(data, user, item, rating, titles, title_col, valid_pct, n_factors,
                            y_range, use_nn, layers, bs, wd, seed, device)
    learn = build_learner(options)
    learn.fit_one_cycle(epochs, lr, **fit_options)
    finish_training(learn, out, force)


def lr_find(data: RatingsFile, user: UserColumn = None, item: ItemColumn = None,
            rating: RatingColumn = None, titles: TitlesFile = None,
            title_col: TitleColumn = "title", valid_pct: ValidPct = 0.1,
            n_factors: NumFactors = 50, y_range: YRange = None, use_nn: UseNN = False,
            layers: NNLayers = "100,50", bs: BatchSize = 64, wd: WeightDecay = 0.1,
            seed: Seed = None, device: Device = None, num_it: NumIterations = 100,
            plot: PlotFile = None, force: Force = False) -> None:
    """Sweep the learning rate on a collab model and print the suggested rates.

    Example: briskml lr-find collab ratings.csv --y-range 0 5.5 --plot lr_find.png
    """
    if plot is not None:
        check_output(plot, force, "--plot")
    check_device(device)
    options = CollabOptions(data, user, item, rating, titles, title_col, valid_pct, n_factors,
                            y_range, use_nn, layers, bs, wd, seed, device)
    print_lr_suggestions(build_learner(options), num_it, plot)


UserId = Annotated[str, typer.Option(
    "--user", metavar="ID", help="The user to recommend for (an id the model was trained on).",
    show_default=False)]
HowMany = Annotated[int, typer.Option("-n", "--n", min=1, help="How many items.")]
ExcludedItems = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="ITEM", help="Item ids to leave out (repeat, or separate with commas).",
    show_default=False)]
SeenRatings = Annotated[Path | None, typer.Option(
    "--seen", metavar="FILE", help="A ratings file (e.g. the training data): leave out the items "
    "this user rated in it.", show_default=False, dir_okay=False)]


@app.command()
def recommend(model: ModelFile, user: UserId, n: HowMany = 10, exclude: ExcludedItems = None,
              seen: SeenRatings = None) -> None:
    """Print the n items with the highest predicted rating for a user.

    An exported model does not keep the training ratings, so pass --seen (or --exclude) to leave
    out what the user has already rated. A user never seen in training gets the average user's
    list (with a warning).

    Example: briskml collab recommend movies.brisk --user 42 -n 5 --seen ratings.csv
    """
    learn = _load_collab(model)
    pipeline = learn.pipeline
    user_id = id_like(user, pipeline.users, "--user")
    excluded = [id_like(item, pipeline.items, "--exclude") for item in column_list(exclude) or []]
    if seen is not None:
        excluded += _items_rated(seen, pipeline, user_id)
    table = learn.recommend(user_id, n=n, exclude_seen=False, exclude=excluded)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.to_string(index=False))


def build_learner(options: CollabOptions) -> CollabLearner:
    """Read the ratings, then the same CollabData.from_df and collab_learner calls as in Python."""
    layers = int_list(options.layers, "--layers") if options.use_nn else None
    ratings = read_table(options.data)
    data = CollabData.from_df(ratings, user_name=options.user, item_name=options.item,
                              rating_name=options.rating, valid_pct=options.valid_pct,
                              seed=options.seed, bs=options.bs,
                              item_titles=_titles(options, ratings))
    return collab_learner(data, n_factors=options.n_factors, use_nn=options.use_nn,
                          layers=layers, y_range=options.y_range, wd=options.wd,
                          seed=options.seed, device=options.device)


def _titles(options: CollabOptions, ratings: pd.DataFrame) -> pd.Series | None:
    """The --titles file as a Series item id -> title."""
    if options.titles is None:
        return None
    item = options.item or (ratings.columns[1] if ratings.shape[1] > 1 else None)
    titles = read_table(options.titles, "--titles")
    missing = [name for name in (item, options.title_col) if name not in titles.columns]
    if missing:
        raise DataError(f"--titles '{options.titles}' lacks the column(s) {missing}; it needs the "
                        f"item column {item!r} and the title column --title-col "
                        f"{options.title_col!r}; its columns are {list(titles.columns)}.")
    return titles.set_index(item)[options.title_col]


def _load_collab(model: Path) -> CollabLearner:
    check_input_file(model, "MODEL")
    learn = load_learner(model)
    if not isinstance(learn, CollabLearner):
        raise ConfigError(f"'{model}' holds a {learn.kind} model; collab recommend needs one made "
                          "by `briskml collab train` or collab_learner.")
    return learn


def _items_rated(path: Path, pipeline: CollabPipeline, user_id: Any) -> list[Any]:
    """The items `user_id` rated in a ratings file."""
    ratings = read_table(path, "--seen")
    user_name, item_name = pipeline.user_name, pipeline.item_name
    missing = [name for name in (user_name, item_name) if name not in ratings.columns]
    if missing:
        raise DataError(f"--seen '{path}' lacks the column(s) {missing} the model was trained "
                        f"with; its columns are {list(ratings.columns)}.")
    rated = ratings.loc[ratings[user_name] == user_id, item_name]
    return pd.unique(rated).tolist()

