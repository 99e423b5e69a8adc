"""`briskml datasets list | path | fetch`: the public datasets the lessons use."""

from __future__ import annotations

from typing import Annotated

import typer

from briskml.cli._common import note
from briskml.datasets.registry import (
    Dataset,
    dataset_path,
    describe_size,
    fetch_dataset,
    get_dataset,
    is_fetched,
    list_datasets,
)

app = typer.Typer(help="The public datasets the lessons use: list them, find them, fetch them.",
                  no_args_is_help=True)

DatasetName = Annotated[str, typer.Argument(
    metavar="NAME", help="A dataset name from `briskml datasets list`.", show_default=False)]


@app.command("list")
def list_command(verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also show each dataset's description, files, licence and URLs.")
        ] = False) -> None:
    """List the datasets: name, download size, how a fetch is checked, whether it is here.

    Example: briskml datasets list -v
    """
    rows = [("name", "download", "checked by", "here", "title")]
    rows += [(dataset.name, _download_size(dataset), dataset.checked_by, _status(dataset),
              dataset.title) for dataset in list_datasets()]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]))
        if verbose and row is not rows[0]:
            _print_details(get_dataset(row[0]))


@app.command()
def path(name: DatasetName, file: Annotated[str | None, typer.Argument(
        metavar="[FILE]", help="One of the dataset's files, by short name (ratings, train ...) "
        "or by path inside its folder.", show_default=False)] = None) -> None:
    """Print where a dataset (or one of its files) is, or will be once fetched.

    Example: briskml datasets path ml-latest-small ratings
    """
    print(dataset_path(name, file))
    if not is_fetched(name):
        note(f"{name} is not fetched yet: briskml datasets fetch {name}")


@app.command()
def fetch(name: DatasetName) -> None:
    """Download a dataset into the cache, check it, unpack it, and print where it is.

    Files are checked against their published sha256 (or md5; else size and archive format).
    Without network the error says where to put a copy fetched by hand; BRISKML_MIRROR=URL
    fetches the same file names from your own server; BRISKML_CACHE moves the cache.

    Example: briskml datasets fetch ml-latest-small
    """
    dataset = get_dataset(name)
    if is_fetched(name):
        note(f"{name} is already here ({_status(dataset)})")
    else:
        for remote in dataset.remote:
            note(f"fetching {remote.url} ({describe_size(remote.size)}, checked by "
                 f"{remote.checked_by})")
    location = fetch_dataset(name)
    print(location)


def _download_size(dataset: Dataset) -> str:
    return "-" if dataset.bundled else describe_size(dataset.size)


def _status(dataset: Dataset) -> str:
    if dataset.bundled:
        return "bundled"
    return "fetched" if is_fetched(dataset.name) else "no"


def _print_details(dataset: Dataset) -> None:
    details = [dataset.description, f"files: {', '.join(dataset.files)}",
               f"licence: {dataset.licence}", *(remote.url for remote in dataset.remote)]
    if dataset.note:
        details.append(f"note: {dataset.note}")
    for line in details:
        print(f"    {line}")
