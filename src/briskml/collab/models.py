"""Collaborative-filtering models: dot product with biases, an embedding MLP, and the hybrid.

Every model takes user and item codes (0 = unknown) and, optionally, side-feature tensors, and
returns one predicted rating per row. Code 0 of each table is never trained; the learner sets it to
the rating-weighted mean of the known rows after each epoch (`fill_unknown_rows`), so an unknown
user or item is predicted as the average one. Embedding tables are sparse by default: a batch's
gradient names only its rows and `LazyAdam` updates only those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from briskml.checks import (
    check_dropouts,
    check_non_negative_int,
    check_positive_int,
    check_probability,
    is_number,
)
from briskml.errors import ConfigError
from briskml.layers import MLP, MLPConfig, SigmoidRange
from briskml.registry import register_model

Vectors = tuple[Tensor, Tensor | None]   # (factors (n, size), bias (n,) or None)


def _check_range(y_range: tuple[float, float] | None) -> tuple[float, float] | None:
    if y_range is None:
        return None
    try:
        low, high = (float(value) for value in y_range)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"y_range must be (low, high), e.g. (0, 5.5); got {y_range!r}."
                          ) from error
    if not low < high:
        raise ConfigError(f"y_range must be (low, high) with low < high; got {y_range!r}.")
    return (low, high)


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        check_positive_int(value, name)


def reads_features(model: nn.Module, side: str) -> bool:
    """Whether `model` reads side features of "user" or "item" (a hybrid built with them)."""
    return getattr(getattr(model, "config", None), f"n_{side}_features", 0) > 0


def _embedding(num_rows: int, size: int, sparse: bool) -> nn.Embedding:
    """A table initialised as the lessons do (truncated normal, std 0.01), its unknown row zero."""
    table = nn.Embedding(num_rows, size, sparse=sparse)
    with torch.no_grad():
        nn.init.trunc_normal_(table.weight, std=0.01, a=-0.02, b=0.02)
        table.weight[0] = 0.0
    return table


def _output_range(y_range: tuple[float, float] | None) -> nn.Module:
    return SigmoidRange(*y_range) if y_range else nn.Identity()


@torch.no_grad()
def fill_unknown_row(table: nn.Embedding, counts: Tensor) -> None:
    """Set row 0 (unknown) to the mean of the other rows weighted by their number of ratings."""
    weights = counts.to(table.weight.device, table.weight.dtype)
    weights[0] = 0.0
    total = weights.sum()
    if total > 0:
        table.weight[0] = (weights @ table.weight) / total


# ----- dot product with biases ------------------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingDotBiasConfig:
    """Sizes of a dot-product model; n_users and n_items count the unknown code 0."""

    n_factors: int
    n_users: int
    n_items: int
    y_range: tuple[float, float] | None = None
    sparse: bool = True   # sparse gradients: LazyAdam updates only the rows of each batch

    def __post_init__(self) -> None:
        _check_sizes(n_factors=self.n_factors, n_users=self.n_users, n_items=self.n_items)
        object.__setattr__(self, "y_range", _check_range(self.y_range))


@register_model
class EmbeddingDotBias(nn.Module):
    """User and item factors plus biases: rating = dot(user, item) + user bias + item bias,
    through `sigmoid(x) * (high - low) + low` when y_range is given.

    Each table row holds a user's (or item's) n_factors factors followed by its bias, so one
    lookup and one optimizer update serve both.

    Example:
        >>> model = EmbeddingDotBias(EmbeddingDotBiasConfig(50, n_users=611, n_items=9725,
        ...                                                 y_range=(0, 5.5)))
    """

    config_class = EmbeddingDotBiasConfig

    def __init__(self, config: EmbeddingDotBiasConfig) -> None:
        super().__init__()
        self.config = config
        self.users = _embedding(config.n_users, config.n_factors + 1, config.sparse)
        self.items = _embedding(config.n_items, config.n_factors + 1, config.sparse)
        self.output_range = _output_range(config.y_range)

    def forward(self, users: Tensor, items: Tensor, user_x: Tensor | None = None,
                item_x: Tensor | None = None) -> Tensor:
        user, item = self.users(users), self.items(items)   # (batch, n_factors + 1) each
        return self.output_range(_dot_plus_biases(user, item))

    def user_vectors(self, users: Tensor, user_x: Tensor | None = None) -> Vectors:
        """Factors and biases of users (by code)."""
        return _split_factors(self.users(users))

    def item_vectors(self, items: Tensor, item_x: Tensor | None = None) -> Vectors:
        """Factors and biases of items (by code)."""
        return _split_factors(self.items(items))

    def fill_unknown_rows(self, user_counts: Tensor, item_counts: Tensor) -> None:
        """Make code 0 the average user and the average item (weighted by ratings)."""
        fill_unknown_row(self.users, user_counts)
        fill_unknown_row(self.items, item_counts)


def _dot_plus_biases(user: Tensor, item: Tensor) -> Tensor:
    # The last column of each row is the bias: dot the factors, add both biases.
    return torch.linalg.vecdot(user[:, :-1], item[:, :-1]) + user[:, -1] + item[:, -1]


def _split_factors(rows: Tensor) -> Vectors:
    return rows[:, :-1], rows[:, -1]


# ----- embedding MLP ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingNNConfig:
    """An embedding MLP: ((n_users, user_size), (n_items, item_size)), hidden layers, dropout."""

    emb_szs: tuple[tuple[int, int], tuple[int, int]]
    layers: tuple[int, ...] = (100, 50)
    ps: tuple[float, ...] | float = 0.0
    y_range: tuple[float, float] | None = None
    embed_p: float = 0.0   # dropout on the concatenated embeddings
    use_bn: bool = True
    sparse: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "emb_szs", _table_sizes(self.emb_szs))
        layers = tuple(check_positive_int(size, "each size in layers") for size in self.layers)
        object.__setattr__(self, "layers", layers)
        dropouts = check_dropouts(self.ps, len(layers), "ps")   # one value, or one per layer
        if not is_number(self.ps):
            object.__setattr__(self, "ps", dropouts)   # JSON gives a list back; keep a tuple
        object.__setattr__(self, "y_range", _check_range(self.y_range))
        object.__setattr__(self, "embed_p", check_probability(
            self.embed_p, "embed_p", "It is the dropout on the embeddings, e.g. 0.05."))

    def mlp_config(self) -> MLPConfig:
        """The MLP on top of the concatenated embeddings."""
        in_features = self.emb_szs[0][1] + self.emb_szs[1][1]
        return MLPConfig(in_features=in_features, out_features=1, layers=self.layers, ps=self.ps,
                         use_bn=self.use_bn, y_range=self.y_range)


def _table_sizes(emb_szs: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """((n_users, user_size), (n_items, item_size)), each a positive integer."""
    try:
        pairs = [tuple(pair) for pair in emb_szs]
    except TypeError as error:
        raise ConfigError("emb_szs must be ((n_users, user_size), (n_items, item_size)); got "
                          f"{emb_szs!r}.") from error
    if len(pairs) != 2 or any(len(pair) != 2 for pair in pairs):
        raise ConfigError(f"emb_szs needs exactly two (rows, size) pairs, users then items; got "
                          f"{emb_szs!r}.")
    (user_rows, user_size), (item_rows, item_size) = pairs
    return ((check_positive_int(user_rows, "user rows"),
             check_positive_int(user_size, "user size")),
            (check_positive_int(item_rows, "item rows"),
             check_positive_int(item_size, "item size")))


@register_model
class EmbeddingNN(nn.Module):
    """Concatenated user and item embeddings through an MLP (Linear-ReLU-BatchNorm-Dropout blocks).

    Example:
        >>> model = EmbeddingNN(EmbeddingNNConfig(emb_szs=((611, 58), (9725, 267)),
        ...                                       layers=(100, 50), y_range=(0, 5.5)))
    """

    config_class = EmbeddingNNConfig

    def __init__(self, config: EmbeddingNNConfig) -> None:
        super().__init__()
        self.config = config
        (num_users, user_size), (num_items, item_size) = config.emb_szs
        self.users = _embedding(num_users, user_size, config.sparse)
        self.items = _embedding(num_items, item_size, config.sparse)
        self.embedding_dropout = nn.Dropout(config.embed_p)
        self.mlp = MLP(config.mlp_config())

    def forward(self, users: Tensor, items: Tensor, user_x: Tensor | None = None,
                item_x: Tensor | None = None) -> Tensor:
        joined = torch.cat([self.users(users), self.items(items)], dim=1)  # (batch, sizes)
        return self.mlp(self.embedding_dropout(joined)).squeeze(1)

    def user_vectors(self, users: Tensor, user_x: Tensor | None = None) -> Vectors:
        """Embeddings of users (by code); this model has no biases."""
        return self.users(users), None

    def item_vectors(self, items: Tensor, item_x: Tensor | None = None) -> Vectors:
        """Embeddings of items (by code); this model has no biases."""
        return self.items(items), None

    def fill_unknown_rows(self, user_counts: Tensor, item_counts: Tensor) -> None:
        """Make code 0 the average user and the average item (weighted by ratings)."""
        fill_unknown_row(self.users, user_counts)
        fill_unknown_row(self.items, item_counts)

    @staticmethod
    def upgrade_state(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
        """Weights saved by briskml 0.1.0 under today's names (its MLP's hidden blocks were
        Sequentials); `load_learner` calls this for files of an older export version."""
        return MLP.upgrade_state(tensors, prefix="mlp.")


# ----- hybrid: ids plus side features -----------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingHybridConfig:
    """A dot-product model whose user and item vectors add a small network over side features."""

    n_factors: int
    n_users: int
    n_items: int
    n_user_features: int = 0
    n_item_features: int = 0
    hidden_size: int = 64       # width of each feature network's hidden layer
    y_range: tuple[float, float] | None = None
    sparse: bool = True

    def __post_init__(self) -> None:
        _check_sizes(n_factors=self.n_factors, n_users=self.n_users, n_items=self.n_items,
                     hidden_size=self.hidden_size)
        for name in ("n_user_features", "n_item_features"):
            check_non_negative_int(getattr(self, name), name)
        if self.n_user_features == 0 and self.n_item_features == 0:
            raise ConfigError("A hybrid model needs user or item features (n_user_features or "
                              "n_item_features > 0); use EmbeddingDotBias without features.")
        object.__setattr__(self, "y_range", _check_range(self.y_range))


class FeatureNetwork(nn.Sequential):
    """Side features -> n_factors factors and a bias (one hidden ReLU layer)."""

    def __init__(self, num_features: int, hidden_size: int, n_factors: int) -> None:
        super().__init__(nn.Linear(num_features, hidden_size), nn.ReLU(),
                         nn.Linear(hidden_size, n_factors + 1))
        with torch.no_grad():  # start as a small correction to the id embeddings
            self[-1].weight.mul_(0.1)
            self[-1].bias.zero_()


@register_model
class EmbeddingHybrid(nn.Module):
    """Dot product with biases where each side's row is its id embedding plus a network over its
    features, so a user or item never seen in training but with known features is personalised.

    Example:
        >>> model = EmbeddingHybrid(EmbeddingHybridConfig(50, n_users=611, n_items=9725,
        ...                                               n_item_features=21, y_range=(0, 5.5)))
    """

    config_class = EmbeddingHybridConfig

    def __init__(self, config: EmbeddingHybridConfig) -> None:
        super().__init__()
        self.config = config
        self.users = _embedding(config.n_users, config.n_factors + 1, config.sparse)
        self.items = _embedding(config.n_items, config.n_factors + 1, config.sparse)
        self.user_features = _feature_network(config.n_user_features, config)
        self.item_features = _feature_network(config.n_item_features, config)
        self.output_range = _output_range(config.y_range)

    def forward(self, users: Tensor, items: Tensor, user_x: Tensor | None = None,
                item_x: Tensor | None = None) -> Tensor:
        user = _with_features(self.users(users), self.user_features, user_x)
        item = _with_features(self.items(items), self.item_features, item_x)
        return self.output_range(_dot_plus_biases(user, item))

    def user_vectors(self, users: Tensor, user_x: Tensor | None = None) -> Vectors:
        """Factors and biases of users (id embedding plus features)."""
        return _split_factors(_with_features(self.users(users), self.user_features, user_x))

    def item_vectors(self, items: Tensor, item_x: Tensor | None = None) -> Vectors:
        """Factors and biases of items (id embedding plus features)."""
        return _split_factors(_with_features(self.items(items), self.item_features, item_x))

    def fill_unknown_rows(self, user_counts: Tensor, item_counts: Tensor) -> None:
        """Make code 0's id part the average one (features still personalise it)."""
        fill_unknown_row(self.users, user_counts)
        fill_unknown_row(self.items, item_counts)


def _feature_network(num_features: int, config: EmbeddingHybridConfig) -> nn.Module | None:
    if num_features == 0:
        return None
    return FeatureNetwork(num_features, config.hidden_size, config.n_factors)


def _with_features(rows: Tensor, network: nn.Module | None, x: Tensor | None) -> Tensor:
    if network is None:
        return rows
    if x is None:
        raise ConfigError("This hybrid model needs the side-feature tensors it was built for; "
                          "pass user_x / item_x (CollabData batches carry them).")
    return rows + network(x)
