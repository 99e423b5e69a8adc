"""Blocks shared by the applications: scaled sigmoid, Linear-ReLU-BatchNorm-Dropout, an MLP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

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


class LinBnDrop(nn.Sequential):
    """Linear, ReLU, then optional BatchNorm and Dropout: one hidden block of an MLP."""

    def __init__(self, in_features: int, out_features: int, use_bn: bool = True,
                 p: float = 0.0) -> None:
        modules: list[nn.Module] = [nn.Linear(in_features, out_features), nn.ReLU(inplace=True)]
        if use_bn:
            modules.append(nn.BatchNorm1d(out_features))
        if p > 0:
            modules.append(nn.Dropout(p))
        super().__init__(*modules)


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
        if self.in_features < 1 or self.out_features < 1 or any(s < 1 for s in self.layers):
            raise ConfigError(f"MLP sizes must be positive; got {self}.")
        if len(self.dropouts()) != len(self.layers):
            raise ConfigError(
                f"ps has {len(self.dropouts())} values for {len(self.layers)} layers; "
                "give one each."
            )
        if not all(0.0 <= p < 1.0 for p in self.dropouts()):
            raise ConfigError(f"Dropout probabilities must be in [0, 1); got ps={self.ps}.")

    def dropouts(self) -> Sequence[float]:
        """One dropout probability per hidden layer."""
        if isinstance(self.ps, (int, float)):
            return [float(self.ps)] * len(self.layers)
        return self.ps


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
        blocks = [LinBnDrop(sizes[i], sizes[i + 1], config.use_bn, p)
                  for i, p in enumerate(config.dropouts())]
        self.hidden = nn.Sequential(*blocks)
        self.head = nn.Linear(sizes[-1], config.out_features)
        self.output_range = SigmoidRange(*config.y_range) if config.y_range else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.output_range(self.head(self.hidden(x)))
