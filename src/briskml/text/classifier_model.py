"""The ULMFiT classifier: an AWD-LSTM read in chunks (BPT3C), concat pooling, a small MLP head.

Documents arrive padded at the end with rows longest first (see `ClassificationLoader`), so chunk
k only needs the rows still running: a prefix of the batch. Each chunk continues the hidden state
of the previous one (detached, as in fastai). Only chunks that reach into the last `max_len`
tokens of some document keep their graph for backpropagation; the others run without one, so a
document of any length fits in memory. Pooling (last output, max and mean over the real tokens)
is accumulated chunk by chunk, so the outputs are never concatenated.

Example:
    >>> config = TextClassifierConfig(encoder=AWDLSTMConfig.for_classifier(vocab_size=1000,
    ...                               emb_sz=64, n_hid=128, n_layers=2), n_classes=2)
    >>> logits = AWDLSTMClassifier(config)(tokens)   # (batch, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from briskml.errors import ConfigError
from briskml.registry import register_model
from briskml.text.awd_lstm import AWDLSTM, AWDLSTMConfig
from briskml.text.dropout import LayerState


@dataclass(frozen=True)
class TextClassifierConfig:
    """The encoder's config plus the head: hidden sizes `lin_ftrs`, their dropout `ps`, and the
    BPT3C chunk length `seq_len` and backpropagated length `max_len`."""

    encoder: AWDLSTMConfig
    n_classes: int
    lin_ftrs: tuple[int, ...] = (50,)
    ps: tuple[float, ...] = (0.1,)
    seq_len: int = 72
    max_len: int = 72 * 20

    def __post_init__(self) -> None:
        if isinstance(self.encoder, Mapping):  # rebuilt from JSON
            object.__setattr__(self, "encoder", AWDLSTMConfig(**self.encoder))
        object.__setattr__(self, "lin_ftrs", tuple(int(size) for size in self.lin_ftrs))
        object.__setattr__(self, "ps", tuple(float(p) for p in self.ps))
        if not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ConfigError(f"A classifier needs at least 2 classes; got {self.n_classes!r}.")
        if len(self.ps) != len(self.lin_ftrs):
            raise ConfigError(f"ps has {len(self.ps)} values for {len(self.lin_ftrs)} hidden "
                              "layers (lin_ftrs); give one dropout probability each.")
        if any(size < 1 for size in self.lin_ftrs) or not all(0 <= p < 1 for p in self.ps):
            raise ConfigError(f"lin_ftrs must be positive and ps in [0, 1); got "
                              f"{list(self.lin_ftrs)} and {list(self.ps)}.")
        for name in ("seq_len", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer; got {value!r}.")


class PoolingClassifierHead(nn.Sequential):
    """BatchNorm -> Dropout -> Linear blocks (ReLU between them) from 3 x emb_sz to the classes."""

    def __init__(self, sizes: list[int], ps: list[float]) -> None:
        blocks: list[nn.Module] = []
        for index, (p, in_size, out_size) in enumerate(zip(ps, sizes[:-1], sizes[1:],
                                                           strict=True)):
            blocks += [nn.BatchNorm1d(in_size), nn.Dropout(p), nn.Linear(in_size, out_size)]
            if index < len(ps) - 1:
                blocks.append(nn.ReLU(inplace=True))
        super().__init__(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        for module in self:
            if isinstance(module, nn.BatchNorm1d) and self.training and x.shape[0] == 1:
                # A last training batch of one document has no batch statistics: use the
                # running ones instead of failing.
                x = F.batch_norm(x, module.running_mean, module.running_var, module.weight,
                                 module.bias, training=False, eps=module.eps)
            else:
                x = module(x)
        return x


class _Pool:
    """Running concat-pooling statistics over the chunks of one batch."""

    def __init__(self, batch_size: int, features: int, like: Tensor) -> None:
        self.batch_size = batch_size
        self.total = like.new_zeros(batch_size, features)
        self.maximum = like.new_full((batch_size, features), float("-inf"))
        self.last = like.new_zeros(batch_size, features)

    def add(self, output: Tensor, inside: Tensor, ends_here: Tensor, last_position: Tensor
            ) -> None:
        """Add a chunk's output (active rows, chunk length, features); `inside` marks real
        tokens, `ends_here` the rows whose last token is in this chunk, at `last_position`."""
        missing = self.batch_size - output.shape[0]
        mask = inside.unsqueeze(-1)
        chunk_total = (output * mask).sum(dim=1)
        chunk_max = output.masked_fill(~mask, float("-inf")).amax(dim=1)
        rows = torch.arange(output.shape[0], device=output.device)
        chunk_last = output[rows, last_position.clamp(0, output.shape[1] - 1)]
        chunk_last = chunk_last * ends_here.unsqueeze(-1)
        self.total = self.total + F.pad(chunk_total, (0, 0, 0, missing))
        self.maximum = torch.maximum(self.maximum,
                                     F.pad(chunk_max, (0, 0, 0, missing), value=float("-inf")))
        self.last = self.last + F.pad(chunk_last, (0, 0, 0, missing))

    def result(self, lengths: Tensor) -> Tensor:
        """[last, max, mean] per row: (batch, 3 x features)."""
        mean = self.total / lengths.clamp(min=1).unsqueeze(-1).to(self.total.dtype)
        return torch.cat([self.last, self.maximum, mean], dim=1)


class _ActivationSums:
    """Running sums for AR and TAR over the real tokens of the chunks that backpropagate."""

    def __init__(self) -> None:
        self.squares: Tensor | float = 0.0
        self.changes: Tensor | float = 0.0
        self.num_values = 0
        self.num_changes = 0

    def add(self, output: Tensor, inside: Tensor) -> None:
        features = output.shape[-1]
        self.squares = self.squares + (output.float().pow(2) * inside.unsqueeze(-1)).sum()
        self.num_values += int(inside.sum()) * features
        if output.shape[1] > 1:
            both = (inside[:, 1:] & inside[:, :-1]).unsqueeze(-1)
            change = (output[:, 1:] - output[:, :-1]).float().pow(2) * both
            self.changes = self.changes + change.sum()
            self.num_changes += int(both.sum()) * features

    def terms(self) -> tuple[Tensor, Tensor] | None:
        if not self.num_values or not isinstance(self.squares, Tensor):
            return None
        ar = self.squares / self.num_values
        tar = self.changes / self.num_changes if self.num_changes else ar.new_zeros(())
        return ar, tar


@register_model
class AWDLSTMClassifier(nn.Module):
    """AWD-LSTM encoder read in chunks of `seq_len` (BPT3C), concat pooling, then the head.

    Example:
        >>> model = AWDLSTMClassifier(TextClassifierConfig(encoder=encoder_config, n_classes=2))
        >>> model(tokens).shape   # (batch, 2)
    """

    config_class = TextClassifierConfig

    def __init__(self, config: TextClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = AWDLSTM(config.encoder)
        sizes = [3 * config.encoder.emb_sz, *config.lin_ftrs, config.n_classes]
        self.head = PoolingClassifierHead(sizes, [config.encoder.output_p, *config.ps])
        self.activation_sums: _ActivationSums | None = None

    def reset(self) -> None:
        """Nothing carries over between batches; kept so every text model can be reset."""
        self.activation_sums = None

    def forward(self, tokens: Tensor) -> Tensor:
        pad = self.config.encoder.pad_token
        lengths = (tokens != pad).sum(dim=1)  # padding sits at the end of each row
        order = torch.argsort(lengths, descending=True, stable=True)
        is_sorted = bool((order == torch.arange(len(order), device=order.device)).all())
        if not is_sorted:
            tokens, lengths = tokens[order], lengths[order]
        pooled = self.encode(tokens, lengths)
        logits = self.head(pooled)
        if not is_sorted:
            logits = logits[torch.argsort(order)]
        return logits

    def encode(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """Concat-pooled features (batch, 3 x emb_sz) of rows sorted longest first."""
        config = self.config
        batch_size = tokens.shape[0]
        pool = _Pool(batch_size, config.encoder.emb_sz, self.encoder.embedding.weight)
        sums = _ActivationSums() if self.training and torch.is_grad_enabled() else None
        weights_hh = self.encoder.dropped_weights()  # one DropConnect mask for the whole batch
        state: list[LayerState] | None = None
        longest = max(int(lengths[0]) if batch_size else 0, 1)
        for start in range(0, longest, config.seq_len):
            active = int((lengths > start).sum()) if start else batch_size
            chunk = tokens[:active, start:start + config.seq_len]
            state = None if state is None else [(h[:, :active], c[:, :active]) for h, c in state]
            keeps_graph = int(lengths[active - 1]) < start + chunk.shape[1] + config.max_len
            with torch.set_grad_enabled(keeps_graph and torch.is_grad_enabled()):
                output, state = self.encoder(chunk, state, weights_hh)
            state = [(h.detach(), c.detach()) for h, c in state]
            self._pool_chunk(pool, sums if keeps_graph else None, output, lengths[:active], start)
        self.activation_sums = sums
        return pool.result(lengths)

    @staticmethod
    def _pool_chunk(pool: _Pool, sums: _ActivationSums | None, output: Tensor, lengths: Tensor,
                    start: int) -> None:
        positions = torch.arange(start, start + output.shape[1], device=output.device)
        inside = positions.unsqueeze(0) < lengths.unsqueeze(1)  # (active, chunk length)
        last_position = lengths - 1 - start
        ends_here = (last_position >= 0) & (last_position < output.shape[1])
        pool.add(output, inside, ends_here, last_position)
        if sums is not None:
            sums.add(output, inside)

    def activation_terms(self) -> tuple[Tensor, Tensor] | None:
        """(AR, TAR) over the real tokens of the last training batch's backpropagated chunks."""
        return None if self.activation_sums is None else self.activation_sums.terms()


def classifier_splitter(model: AWDLSTMClassifier) -> list[list[nn.Parameter]]:
    """Layer groups: the embedding, each LSTM layer, then the head, so freeze_to(-2) trains the
    top LSTM layer and the head, freeze_to(-3) one more layer, and so on."""
    encoder = model.encoder
    groups = [list(encoder.embedding.parameters())]
    groups += [list(layer.parameters()) for layer in encoder.layers]
    return [*groups, list(model.head.parameters())]


def classifier_config(encoder: AWDLSTMConfig, n_classes: int, lin_ftrs: Any, ps: Any,
                      seq_len: int, max_len: int) -> TextClassifierConfig:
    """The classifier's config, with the lessons' default head dropout of 0.1 per hidden layer."""
    lin_ftrs = (50,) if lin_ftrs is None else tuple(lin_ftrs)
    if ps is None:
        ps = (0.1,) * len(lin_ftrs)
    elif isinstance(ps, (int, float)):
        ps = (float(ps),) * len(lin_ftrs)
    return TextClassifierConfig(encoder, n_classes, tuple(lin_ftrs), tuple(ps), seq_len, max_len)
