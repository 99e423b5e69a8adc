"""Interpretation as in lesson 5, as pure functions on factor tensors: principal directions of the
item factors, nearest items by cosine similarity, rankings, and the PCA map.

`CollabLearner` owns the methods users call (`learn.pca`, `learn.plot_pca`, `learn.top_items` ...);
they look the factors up and call these functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from briskml.checks import check_one_of
from briskml.errors import ConfigError
from briskml.persist import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RANK_COLUMNS = ("bias", "mean_rating", "num_ratings")


def principal_components(vectors: Tensor, n_components: int) -> Tensor:
    """(rows, n_components) positions of each row on the principal directions of `vectors`.

    Each direction's sign is chosen so that its largest loading is positive, so the map does not
    flip from run to run of the SVD.
    """
    num_rows, num_columns = vectors.shape
    if not 1 <= n_components <= min(num_rows, num_columns):
        raise ConfigError(f"n_components must be between 1 and {min(num_rows, num_columns)} for "
                          f"{num_rows} items with {num_columns} factors; got {n_components}.")
    centered = vectors.double() - vectors.double().mean(dim=0)
    _, _, directions = torch.linalg.svd(centered, full_matrices=False)
    directions = directions[:n_components]                       # (n_components, num_columns)
    largest = directions.abs().argmax(dim=1)
    signs = torch.sign(directions.gather(1, largest[:, None]))
    return (centered @ (directions * signs).T).float()


def cosine_neighbours(vectors: Tensor, query: Tensor, n: int,
                      exclude: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Positions and cosine similarities of the `n` rows of `vectors` most similar to `query`."""
    similarity = torch.nn.functional.cosine_similarity(vectors, query[None, :], dim=1)
    if exclude is not None:
        similarity[exclude] = -torch.inf
    count = min(n, int(torch.isfinite(similarity).sum()))
    values, positions = similarity.topk(count)
    return positions, values


def rank_items(table: pd.DataFrame, by: str, n: int, min_ratings: int,
               ascending: bool) -> pd.DataFrame:
    """The `n` rows of `table` with the highest (or lowest) `by`, of items with enough ratings."""
    check_one_of(by, RANK_COLUMNS, "by")
    if by not in table.columns:
        raise ConfigError(f"This model has no {by!r} to rank by (an EmbeddingNN has no biases); "
                          f"use by='mean_rating' or by='num_ratings'.")
    eligible = table[table["num_ratings"] >= min_ratings]
    return eligible.sort_values(by, ascending=ascending, kind="stable").head(n)


def plot_pca_map(positions: np.ndarray, labels: Sequence[str], components: tuple[int, int],
                 path: str | os.PathLike | None = None) -> Figure:
    """Scatter of two principal components with each item's label written at its point."""
    from matplotlib.figure import Figure  # matplotlib takes a second to import; only when plotting

    first, second = components
    figure = Figure(figsize=(10, 10))
    axes = figure.subplots()
    x, y = positions[:, first], positions[:, second]
    axes.scatter(x, y, s=8, alpha=0.5)
    for x_value, y_value, label in zip(x, y, labels, strict=True):
        axes.annotate(_short(label), (x_value, y_value), fontsize=7, alpha=0.8)
    axes.set_xlabel(f"principal component {first}")
    axes.set_ylabel(f"principal component {second}")
    figure.tight_layout()
    if path is not None:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    return figure


def _short(label: str, width: int = 30) -> str:
    return label if len(label) <= width else label[:width - 1] + "…"
