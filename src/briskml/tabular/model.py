"""TabularModel: entity embeddings for the categorical columns, then an MLP, as in the lessons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from briskml.checks import (
    check_dropouts,
    check_non_negative_int,
    check_positive_int,
    check_probability,
)
from briskml.errors import ConfigError
from briskml.layers import SafeBatchNorm1d, SigmoidRange, emb_sz_rule, hidden_blocks
from briskml.registry import register_model


def get_emb_szs(categories: Mapping[str, Sequence[object]], cat_names: Sequence[str],
                emb_szs: Mapping[str, int] | None = None) -> tuple[tuple[int, int], ...]:
    """(number of codes, embedding size) per categorical column, code 0 included.

    `emb_szs` overrides the rule for the columns it names.
    """
    overrides = dict(emb_szs or {})
    unknown = sorted(set(overrides) - set(cat_names))
    if unknown:
        raise ConfigError(f"emb_szs names {unknown}, which are not categorical columns; the "
                          f"categorical columns are {list(cat_names)}.")
    sizes = []
    for name in cat_names:
        num_codes = len(categories[name]) + 1
        size = check_positive_int(overrides.get(name, emb_sz_rule(num_codes)),
                                  f"emb_szs[{name!r}]")
        sizes.append((num_codes, size))
    return tuple(sizes)


class FusedEmbedding(nn.Module):
    """Every categorical column's embedding in one table, looked up in a single call.

    Column i owns rows offsets[i] .. offsets[i] + n_i and the first d_i of `max(d)` columns of
    `weight`; the rest of the table stays zero (it gets no gradient, so neither Adam nor weight
    decay moves it). One row gather plus one column gather replace one embedding call per column,
    forward and backward, so the per-call overhead that dominates small CPU batches is paid once
    per batch rather than once per column.
    """

    def __init__(self, emb_szs: Sequence[tuple[int, int]], init_std: float = 0.01) -> None:
        super().__init__()
        self.emb_szs = tuple(emb_szs)
        counts = [count for count, _ in self.emb_szs]
        width = max((size for _, size in self.emb_szs), default=0)
        self.weight = nn.Parameter(torch.zeros(sum(counts), width))
        self._starts = [sum(counts[:column]) for column in range(len(counts))]
        # Built with tensor operations (no per-size Python list), so that a model described by
        # a damaged file is sized on the meta device before anything large exists.
        keep = [torch.arange(size, dtype=torch.long) + column * width
                for column, (_, size) in enumerate(self.emb_szs)]
        self.register_buffer("offsets", torch.tensor(self._starts, dtype=torch.long),
                             persistent=False)
        self.register_buffer("keep", torch.cat(keep) if keep else torch.zeros(0, dtype=torch.long),
                             persistent=False)
        self.all_same_size = all(size == width for _, size in self.emb_szs)
        with torch.no_grad():
            for column in range(len(self.emb_szs)):
                # fastai's initialisation: truncated normal, std 0.01.
                nn.init.trunc_normal_(self.table(column), std=init_std, a=-2 * init_std,
                                      b=2 * init_std)

    @property
    def out_features(self) -> int:
        """Width of the concatenated embeddings."""
        return sum(size for _, size in self.emb_szs)

    def table(self, column: int) -> Tensor:
        """Column `column`'s embedding table, a (codes, size) view of `weight`."""
        count, size = self.emb_szs[column]
        start = self._starts[column]
        return self.weight[start:start + count, :size]

    def forward(self, codes: Tensor) -> Tensor:
        """(batch, columns) codes -> (batch, sum of sizes) concatenated embeddings."""
        num_rows = len(codes)
        if not self.emb_szs:
            return self.weight.new_zeros(num_rows, 0)
        # index_select rather than F.embedding: its backward (index_add_) is cheaper on a CPU.
        rows = self.weight.index_select(0, (codes + self.offsets).reshape(-1))
        # (batch, columns * max size); explicit sizes so an empty batch works too
        flat = rows.view(num_rows, codes.shape[1] * self.weight.shape[1])
        return flat if self.all_same_size else flat.index_select(1, self.keep)


@dataclass(frozen=True)
class TabularModelConfig:
    """Shape of a TabularModel; `emb_szs` is (number of codes incl. 0, size) per column."""

    emb_szs: tuple[tuple[int, int], ...]
    num_continuous: int
    out_features: int
    layers: tuple[int, ...] = (200, 100)
    ps: tuple[float, ...] | float = 0.0   # dropout after each hidden layer (one value or one each)
    emb_drop: float = 0.0
    y_range: tuple[float, float] | None = None
    use_bn: bool = True
    bn_cont: bool = True

    def __post_init__(self) -> None:
        self._check()
        # JSON gives lists back; keep the dataclass hashable and equal to one built with tuples.
        object.__setattr__(self, "emb_szs", tuple((int(n), int(d)) for n, d in self.emb_szs))
        object.__setattr__(self, "layers", tuple(int(size) for size in self.layers))
        if not isinstance(self.ps, (int, float)):
            object.__setattr__(self, "ps", tuple(float(p) for p in self.ps))
        if self.y_range is not None:
            object.__setattr__(self, "y_range", tuple(float(v) for v in self.y_range))

    def _check(self) -> None:
        # Checked before the conversions above, so 2.5 is refused rather than truncated to 2.
        check_non_negative_int(self.num_continuous, "num_continuous")
        for count, size in self.emb_szs:
            check_positive_int(count, "each number of codes in emb_szs")
            check_positive_int(size, "each embedding size in emb_szs")
        if not (self.emb_szs or self.num_continuous):
            raise ConfigError("A TabularModel needs at least one categorical or continuous input.")
        check_positive_int(self.out_features, "out_features")
        for size in self.layers:
            check_positive_int(size, "each size in layers")
        check_dropouts(self.ps, len(self.layers))
        check_probability(self.emb_drop, "emb_drop",
                          "Dropout probabilities are fractions, e.g. 0.1.")

    def dropouts(self) -> tuple[float, ...]:
        """One dropout probability per hidden layer."""
        return check_dropouts(self.ps, len(self.layers))


@register_model
class TabularModel(nn.Module):
    """Embeddings (one per categorical column) + embedding dropout, BatchNorm on the continuous
    inputs, then Linear-ReLU-BatchNorm-Dropout blocks and the output layer (y_range: sigmoid).

    Example:
        >>> config = TabularModelConfig(emb_szs=((10, 6), (17, 8)), num_continuous=6,
        ...                             out_features=2, layers=(200, 100))
        >>> model = TabularModel(config)
        >>> logits = model(cat_codes, continuous)     # (batch, 2)
    """

    config_class = TabularModelConfig

    def __init__(self, config: TabularModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embeds = FusedEmbedding(config.emb_szs)
        self.emb_drop = nn.Dropout(config.emb_drop) if config.emb_drop > 0 else nn.Identity()
        use_bn_cont = config.bn_cont and config.num_continuous > 0
        self.bn_cont = SafeBatchNorm1d(config.num_continuous) if use_bn_cont else nn.Identity()
        sizes = [self.embeds.out_features + config.num_continuous, *config.layers]
        # LinBnDrop blocks: Linear (no bias before a BatchNorm), ReLU, BatchNorm, Dropout; their
        # state-dict keys (hidden.{i}.linear.*, hidden.{i}.bn.*) are those briskml 0.1.0 wrote.
        self.hidden = hidden_blocks(sizes, config.dropouts(), config.use_bn)
        self.head = nn.Linear(sizes[-1], config.out_features)
        self.output_range = SigmoidRange(*config.y_range) if config.y_range else nn.Identity()

    def forward(self, cat_codes: Tensor, continuous: Tensor) -> Tensor:
        """(batch, n_cat) int64 codes and (batch, n_cont) floats -> (batch, out_features)."""
        embedded = self.emb_drop(self.embeds(cat_codes))
        features = torch.cat([embedded, self.bn_cont(continuous)], dim=1)
        return self.output_range(self.head(self.hidden(features)))

    def embedding_table(self, column: int) -> Tensor:
        """The learned (codes, size) embedding of categorical column number `column`."""
        return self.embeds.table(column)


def tabular_splitter(model: TabularModel) -> list[list[nn.Parameter]]:
    """Two layer groups for discriminative learning rates: the embeddings (which may come from
    another model), then everything else; `freeze()` then trains all but the embeddings."""
    embeddings = list(model.embeds.parameters())
    rest = [param for name, param in model.named_parameters() if not name.startswith("embeds.")]
    return [group for group in (embeddings, rest) if group]
