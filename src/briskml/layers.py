"""Blocks shared by the applications: scaled sigmoid, the one hidden block (LinBnDrop), an MLP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from briskml.checks import check_dropouts, check_positive_int, check_probability
from briskml.errors import ConfigError
from briskml.registry import register_model


def emb_sz_rule(num_codes: int) -> int:
    """The lessons' embedding size for `num_codes` codes: min(600, round(1.6 * n**0.56))."""
    return min(600, round(1.6 * num_codes**0.56))


class SigmoidRange(nn.Module):
    """Squash outputs into (low, high) with `sigmoid(x) * (high - low) + low`."""

    def __init__(self, low: float, high: float) -> None:
        super().__init__()
        if not low < high:
            raise ConfigError(f"y_range must be (low, high) with low < high; got ({low}, {high}).")
        self.low, self.high = float(low), float(high)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(x) * (self.high - self.low) + self.low


class SafeBatchNorm1d(nn.BatchNorm1d):
    """nn.BatchNorm1d that normalises a training batch of one row with the running statistics
    (one row has no batch statistics) instead of failing; otherwise nn.BatchNorm1d itself."""

    def forward(self, x: Tensor) -> Tensor:
        """Normalise (batch, features) with batch statistics (training) or running ones."""
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                training=False, eps=self.eps)
        return super().forward(x)


class LinBnDrop(nn.Module):
    """One hidden block of every MLP in briskml: Linear, activation, BatchNorm and Dropout.

    `lin_first=True` (tabular, collab) runs Linear -> ReLU -> BatchNorm -> Dropout, as fastai's
    tabular model; `lin_first=False` (the text classifier's head) runs BatchNorm -> Dropout ->
    Linear -> ReLU, as fastai's pooling head. `act=False` leaves the ReLU out (a last block);
    `bias=None` gives the Linear a bias only when no BatchNorm follows it.

    Example:
        >>> block = LinBnDrop(64, 32, bn=True, p=0.1)
        >>> block(torch.randn(8, 64)).shape          # (8, 32)
    """

    def __init__(self, in_features: int, out_features: int, bn: bool = True, p: float = 0.0,
                 act: bool = True, lin_first: bool = True, bias: bool | None = None) -> None:
        super().__init__()
        check_positive_int(in_features, "in_features")
        check_positive_int(out_features, "out_features")
        check_probability(p, "p", "Dropout probabilities are fractions, e.g. 0.1.")
        self.lin_first, self.use_act = lin_first, act
        use_bias = (not bn or not lin_first) if bias is None else bias
        self.linear = nn.Linear(in_features, out_features, bias=use_bias)
        norm_size = out_features if lin_first else in_features
        self.bn = SafeBatchNorm1d(norm_size) if bn else nn.Identity()
        self.drop = nn.Dropout(p) if p > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(batch, in_features) -> (batch, out_features)."""
        if self.lin_first:
            x = self.linear(x)
            if self.use_act:
                x = torch.relu_(x)   # in place on the Linear's fresh output
            return self.drop(self.bn(x))
        x = self.linear(self.drop(self.bn(x)))
        return torch.relu_(x) if self.use_act else x


def hidden_blocks(sizes: Sequence[int], ps: Sequence[float], bn: bool = True,
                  lin_first: bool = True, bias: bool | None = None,
                  last_act: bool = True) -> nn.Sequential:
    """LinBnDrop blocks from sizes[0] through each of sizes[1:], dropout ps[i] in block i."""
    count = len(sizes) - 1
    if len(ps) != count:
        raise ConfigError(f"{len(ps)} dropout value(s) for {count} layer(s); give one each.")
    return nn.Sequential(*[
        LinBnDrop(sizes[i], sizes[i + 1], bn, p, act=last_act or i < count - 1,
                  lin_first=lin_first, bias=bias)
        for i, p in enumerate(ps)
    ])


@dataclass(frozen=True)
class MLPConfig:
    """Shape of an MLP: inputs, hidden layer sizes, outputs, dropout and optional output range."""

    in_features: int
    out_features: int
    layers: tuple[int, ...] = (200, 100)
    ps: tuple[float, ...] | float = 0.0   # dropout after each hidden layer (one value or one each)
    use_bn: bool = True
    y_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # JSON gives lists back; keep the dataclass hashable and comparable with tuples.
        object.__setattr__(self, "layers", tuple(int(size) for size in self.layers))
        if self.y_range is not None:
            object.__setattr__(self, "y_range", tuple(float(v) for v in self.y_range))
        if not isinstance(self.ps, (int, float)):
            object.__setattr__(self, "ps", tuple(float(p) for p in self.ps))
        check_positive_int(self.in_features, "in_features")
        check_positive_int(self.out_features, "out_features")
        for size in self.layers:
            check_positive_int(size, "each size in layers")
        check_dropouts(self.ps, len(self.layers))

    def dropouts(self) -> tuple[float, ...]:
        """One dropout probability per hidden layer."""
        return check_dropouts(self.ps, len(self.layers))


@register_model
class MLP(nn.Module):
    """A multi-layer perceptron: LinBnDrop blocks, a final Linear, and an optional SigmoidRange.

    Example:
        >>> model = MLP(MLPConfig(in_features=10, out_features=2, layers=(64, 32)))
    """

    config_class = MLPConfig

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        sizes = [config.in_features, *config.layers]
        # The MLP's Linears keep their bias (as in briskml 0.1.0) even before a BatchNorm.
        self.hidden = hidden_blocks(sizes, config.dropouts(), config.use_bn, bias=True)
        self.head = nn.Linear(sizes[-1], config.out_features)
        self.output_range = SigmoidRange(*config.y_range) if config.y_range else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(batch, in_features) -> (batch, out_features)."""
        return self.output_range(self.head(self.hidden(x)))

    @staticmethod
    def upgrade_state(tensors: dict[str, Tensor], prefix: str = "") -> dict[str, Tensor]:
        """Weights saved by briskml 0.1.0 (hidden blocks as Sequentials) under today's names."""
        return rename_block_keys(tensors, f"{prefix}hidden.", {"0": "linear", "2": "bn"})


def rename_block_keys(tensors: Mapping[str, Tensor], prefix: str,
                      names: Mapping[str, str]) -> dict[str, Tensor]:
    """Rename `<prefix><block>.<old>.<rest>` keys to `<prefix><block>.<new>.<rest>`: loads
    weights saved before the hidden blocks became LinBnDrop modules."""
    renamed = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            block, _, rest = key[len(prefix):].partition(".")
            old, _, tail = rest.partition(".")
            if old in names and tail:
                key = f"{prefix}{block}.{names[old]}.{tail}"
        renamed[key] = value
    return renamed
