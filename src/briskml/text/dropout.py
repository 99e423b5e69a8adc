"""The AWD-LSTM's regularisers: locked dropout, embedding dropout and DropConnect on an LSTM.

Each one costs a mask, not a copy: locked dropout draws one (batch, 1, features) mask per batch;
embedding dropout draws one factor per vocabulary row and multiplies only the rows a batch looks
up (fastai multiplies the whole embedding matrix each batch); DropConnect drops the
hidden-to-hidden weights once per forward pass and hands them to torch's fused LSTM kernel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# One LSTM layer's state: (h, c), each (1, batch, hidden_size).
LayerState = tuple[Tensor, Tensor]


def dropout_mask(like: Tensor, shape: tuple[int, ...], p: float) -> Tensor:
    """A multiplicative mask of `shape`: 0 with probability p, else 1 / (1 - p)."""
    return like.new_empty(shape).bernoulli_(1 - p).div_(1 - p)


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, the same at every time step (variational dropout).

    Example:
        >>> LockedDropout(0.3)(torch.randn(8, 72, 400))   # mask (8, 1, 400)
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """x with one dropout mask per sequence, shared by every time step (training only)."""
        if not self.training or self.p == 0.0:
            return x
        return x * dropout_mask(x, (x.shape[0], 1, *x.shape[2:]), self.p)

    def extra_repr(self) -> str:
        """The dropout probability, for print(model)."""
        return f"p={self.p}"


def embedding_with_dropout(tokens: Tensor, weight: Tensor, embed_p: float, training: bool,
                           padding_idx: int | None = None) -> Tensor:
    """Look up `tokens`, dropping whole words: every occurrence of a dropped word is zero.

    Equivalent to masking rows of the embedding matrix (the AWD-LSTM's embedding dropout), but
    only the looked-up rows are scaled, so it costs one mask value per vocabulary entry.
    """
    embedded = F.embedding(tokens, weight, padding_idx)  # (batch, seq_len, emb_sz)
    if not training or embed_p == 0.0:
        return embedded
    row_mask = dropout_mask(weight, (weight.shape[0],), embed_p)
    return embedded * row_mask[tokens].unsqueeze(-1)


class WeightDropLSTM(nn.Module):
    """One batch-first LSTM layer with DropConnect (`weight_p`) on its hidden-to-hidden weights.

    The dropped copy of `weight_hh` is made once per forward pass (or passed in, so several calls
    share one mask) and given to torch's fused LSTM kernel, so no Python runs per time step.

    Example:
        >>> layer = WeightDropLSTM(400, 1152, weight_p=0.2)
        >>> output, state = layer(torch.randn(8, 72, 400))   # output (8, 72, 1152)
    """

    def __init__(self, input_size: int, hidden_size: int, weight_p: float = 0.0) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.weight_p = input_size, hidden_size, weight_p
        gates = 4 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(gates))
        self.bias_hh = nn.Parameter(torch.empty(gates))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.LSTM's initialisation: uniform in +-1/sqrt(hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def dropped_weight_hh(self) -> Tensor:
        """The hidden-to-hidden weights with DropConnect applied (as they are when evaluating)."""
        if not self.training or self.weight_p == 0.0:
            return self.weight_hh
        return F.dropout(self.weight_hh, self.weight_p, training=True)

    def forward(self, x: Tensor, state: LayerState | None = None,
                weight_hh: Tensor | None = None) -> tuple[Tensor, LayerState]:
        """(output, (h, c)) of the layer over a batch-first x, DropConnect on weight_hh."""
        if state is None:
            zeros = x.new_zeros(1, x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        if weight_hh is None:
            weight_hh = self.dropped_weight_hh()
        weights = [self.weight_ih, weight_hh, self.bias_ih, self.bias_hh]
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # CPU autocast hands oneDNN's LSTM mixed dtypes it cannot build a kernel for
            # ("could not create a primitive descriptor"), so the recurrence runs in float32 there;
            # the embedding, decoder and head still run in the lower precision.
            with torch.autocast("cpu", enabled=False):
                return self._lstm(x.float(), (state[0].float(), state[1].float()),
                                  [weight.float() for weight in weights])
        return self._lstm(x, state, weights)

    def _lstm(self, x: Tensor, state: LayerState, weights: list[Tensor]
              ) -> tuple[Tensor, LayerState]:
        # torch.lstm is what nn.LSTM.forward calls: the oneDNN kernel on a CPU, cuDNN on a GPU.
        output, h, c = torch.lstm(x, state, weights, True, 1, 0.0, self.training, False, True)
        return output, (h, c)

    def extra_repr(self) -> str:
        """Sizes and DropConnect probability, for print(model)."""
        return f"{self.input_size}, {self.hidden_size}, weight_p={self.weight_p}"
