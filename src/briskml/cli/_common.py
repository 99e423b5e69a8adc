"""What the briskml commands share: reading tables, refusing to overwrite files, shared options.

Commands print results to stdout and everything else (notes, progress bars, warnings) to stderr,
so `briskml predict model.brisk rows.csv > out.csv` gives a clean file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import torch
import typer

from briskml.callbacks import Checkpoint
from briskml.datasets.registry import describe_size
from briskml.encoding import first_invalid_utf8, invalid_utf8_error
from briskml.errors import BriskError, ConfigError, FileFormatError

if TYPE_CHECKING:
    from briskml.learner import Learner

PARQUET_SUFFIXES = (".parquet", ".pq")

# ----- options several commands take (typer reads these annotations) ------------------------------
Force = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]
Seed = Annotated[int | None, typer.Option(
    "--seed", help="Seed for the split, the initial weights and the batch order.")]
Device = Annotated[str | None, typer.Option(
    "--device", metavar="DEVICE", help="Where to train: cpu, cuda, cuda:1 ... (default: CUDA "
    "when there is one, else the CPU).", show_default=False)]
Epochs = Annotated[int, typer.Option("--epochs", min=1, help="Epochs of fit_one_cycle.")]
LearningRate = Annotated[float, typer.Option("--lr", help="Peak learning rate of fit_one_cycle.")]
BatchSize = Annotated[int, typer.Option("--bs", min=1, help="Training batch size.")]
NumIterations = Annotated[int, typer.Option(
    "--num-it", min=2, help="Batches the learning rate is swept over.")]
PlotFile = Annotated[Path | None, typer.Option(
    "--plot", metavar="PNG", help="Write the loss-against-learning-rate plot to this PNG file.",
    dir_okay=False, show_default=False)]
OutputModel = Annotated[Path, typer.Option(
    "--out", metavar="MODEL.brisk", help="The exported model file to write.", dir_okay=False,
    show_default=False)]


# ----- messages -----------------------------------------------------------------------------------
def note(message: str) -> None:
    """A line for the person at the terminal (stderr), not part of the command's result."""
    print(message, file=sys.stderr, flush=True)


# ----- tables in ----------------------------------------------------------------------------------
def is_parquet(path: Path) -> bool:
    """Parquet by its suffix; anything else is read as CSV (compressed ones too: .csv.gz)."""
    return path.suffix.lower() in PARQUET_SUFFIXES


def check_input_file(path: Path, what: str) -> None:
    """A clear error for a missing input or a folder given instead of a file."""
    if path.is_dir():
        raise ConfigError(f"{what} '{path}' is a folder; give a CSV or Parquet file.")
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}' ({what}).")


def read_table(path: Path, what: str = "DATA") -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame, as pandas reads it (`pd.read_csv(path)`)."""
    check_input_file(path, what)
    try:
        frame = pd.read_parquet(path) if is_parquet(path) else pd.read_csv(path)
    except Exception as error:  # pandas and pyarrow raise many types for a bad file
        raise _unreadable(path, error) from error
    return _index_as_columns(frame)


def iter_table_chunks(path: Path, chunk_rows: int, what: str = "INPUT"
                      ) -> Iterator[pd.DataFrame]:
    """The rows of a CSV or Parquet file, `chunk_rows` at a time, in order."""
    check_input_file(path, what)
    try:
        chunks = _parquet_chunks(path, chunk_rows) if is_parquet(path) else pd.read_csv(
            path, chunksize=chunk_rows)
        for chunk in chunks:
            yield _index_as_columns(chunk)
    except Exception as error:  # pandas and pyarrow raise many types for a bad file
        raise _unreadable(path, error) from error


def count_rows(path: Path) -> int | None:
    """Rows in a Parquet file (from its footer); None for CSV, which would need a full read."""
    if not is_parquet(path):
        return None
    import pyarrow.parquet as pq  # imported on use: only Parquet input needs it

    return pq.ParquetFile(path).metadata.num_rows


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq  # imported on use: only Parquet input needs it

    for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


def _index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A named index (written by df.to_parquet) becomes columns again, so options can name it."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame


def _unreadable(path: Path, error: Exception) -> BriskError:
    if isinstance(error, UnicodeDecodeError) and not is_parquet(path):
        found = first_invalid_utf8(path)   # pandas' own position is counted in its read buffer
        if found is not None:
            return invalid_utf8_error(str(path), *found)
    kind = "Parquet" if is_parquet(path) else "CSV"
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return FileFormatError(f"Could not read '{path}' as {kind} ({reason}). Give a CSV file with a "
                           "header row, or a Parquet file named *.parquet.")


# ----- files out ----------------------------------------------------------------------------------
def check_output(path: Path, force: bool, option: str = "--out") -> None:
    """Refuse, before any work, to replace an existing file unless --force was given."""
    if path.is_dir():
        raise ConfigError(f"{option} '{path}' is a folder; give a file name.")
    if path.exists() and not force:
        raise FileExistsError(f"'{path}' already exists; pass --force to replace it, or choose "
                              f"another {option}.")


def describe_file_size(path: Path) -> str:
    """A file's size as people read it."""
    return describe_size(path.stat().st_size)


# ----- option values ------------------------------------------------------------------------------
def column_list(values: list[str] | None) -> list[str] | None:
    """Column names from a repeated option, each value possibly comma-separated."""
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def int_list(text: str, option: str) -> list[int]:
    """ "200,100" -> [200, 100]."""
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise ConfigError(f"{option} takes positive integers separated by commas, e.g. 200,100; "
                          f"got {text!r}.")
    return numbers


def check_device(device: str | None) -> None:
    """Refuse a CUDA device up front when this PyTorch has no GPU to use."""
    if device is not None and device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: this PyTorch sees no CUDA GPU "
                          "(torch.cuda.is_available() is False); use --device cpu.")


def positive_lr(lr: float) -> float:
    """The learning rate, refused when it is not positive."""
    if not lr > 0:
        raise ConfigError(f"--lr must be positive, e.g. 1e-2; got {lr}.")
    return lr


def id_like(text: str, known: pd.Index, option: str) -> Any:
    """An id typed on the command line, converted to the type of the ids the model knows."""
    for is_kind, convert, kind in ((pd.api.types.is_integer_dtype, int, "integer"),
                                   (pd.api.types.is_float_dtype, float, "numeric")):
        if is_kind(known.dtype):
            try:
                return convert(text)
            except ValueError:
                raise ConfigError(f"{option} takes one of the model's {kind} ids (e.g. "
                                  f"{known[:3].tolist()}); got {text!r}.") from None
    return text


# ----- training -----------------------------------------------------------------------------------
CheckpointDir = Annotated[Path | None, typer.Option(
    "--checkpoint-dir", help="Where training checkpoints go (one after every epoch, the newest "
    "2 kept): default, beside --out, named like it with .checkpoints (adult.checkpoints for "
    "adult.brisk).", show_default=False)]
Resume = Annotated[bool, typer.Option(
    "--resume", help="Continue a run that stopped (Ctrl-C, a crash) from the newest checkpoint "
    "in --checkpoint-dir; give the same data and options.")]


def checkpointing(out: Path, checkpoint_dir: Path | None, resume: bool) -> dict[str, Any]:
    """The fit options of a training command: a Checkpoint callback writing to
    `checkpoint_dir` (default: beside `out`), and `resume` from it when asked."""
    folder = (checkpoint_dir or out.with_suffix(".checkpoints")).resolve()
    if resume and not folder.is_dir():
        raise FileNotFoundError(f"No checkpoint folder '{folder}' to resume from "
                                "(--checkpoint-dir); train once without --resume.")
    return {"callbacks": [Checkpoint(every_epochs=1, keep=2, path=folder)],
            "resume": folder if resume else None}


def finish_training(learn: Learner, out: Path, force: bool) -> None:
    """Export the trained learner and print its final validation metrics."""
    results = learn.validate() if getattr(learn.data, "valid", None) is not None else {}
    learn.export(out, overwrite=force)
    print_exported(out, results)


def print_exported(out: Path, results: dict[str, Any]) -> None:
    """The closing line of a training command: the file written and its validation metrics."""
    scores = ", ".join(f"{name} {value:.4f}" for name, value in results.items()
                       if name not in ("epoch", "time", "train_loss"))
    print(f"exported {out} ({describe_file_size(out)})" + (f": {scores}" if scores else ""))


def print_lr_suggestions(learn: Learner, num_it: int, plot: Path | None) -> None:
    """Run lr_find, print its suggestions (stdout) and save the plot when asked."""
    result = learn.lr_find(num_it=num_it)
    print("lr_find suggestions (learning rates):")
    for name, value in result.suggestions.items():
        print(f"  {name:<9}{value:.2e}")
    if plot is not None:
        result.plot(plot)
        note(f"plot written to {plot}")
