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

from briskml.checks import check_dropouts, check_positive_int
from briskml.errors import ConfigError
from briskml.layers import hidden_blocks
from briskml.registry import register_model
from briskml.text.awd_lstm import AWDLSTM, AWDLSTMConfig
from briskml.text.dropout import LayerState

# briskml 0.1.0's head held 4 layers per block: BatchNorm (0), Dropout (1), Linear (2), ReLU (3);
# the layers with weights, by position in their block, and their names today.
_HEAD_BLOCK_SIZE_0_1_0 = 4
_HEAD_LAYERS_0_1_0 = {0: "bn", 2: "linear"}


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
        for size in self.lin_ftrs:
            check_positive_int(size, "each size in lin_ftrs")
        object.__setattr__(self, "lin_ftrs", tuple(int(size) for size in self.lin_ftrs))
        object.__setattr__(self, "ps", check_dropouts(self.ps, len(self.lin_ftrs), "ps"))
        if check_positive_int(self.n_classes, "n_classes") < 2:
            raise ConfigError(f"A classifier needs at least 2 classes; got {self.n_classes!r}.")
        check_positive_int(self.seq_len, "seq_len")
        check_positive_int(self.max_len, "max_len")


class PoolingClassifierHead(nn.Sequential):
    """fastai's pooling head: LinBnDrop blocks running BatchNorm -> Dropout -> Linear, with a
    ReLU after every block but the last, from 3 x emb_sz to the classes. Block i is `head[i]`,
    its layers `head[i].bn` and `head[i].linear`; a training batch of one document is
    normalised with the running statistics (it has no batch statistics)."""

    def __init__(self, sizes: list[int], ps: list[float]) -> None:
        super().__init__(*hidden_blocks(sizes, ps, bn=True, lin_first=False, last_act=False))


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
        """Add a chunk's squared outputs and changes over its real tokens."""
        features = output.shape[-1]
        self.squares = self.squares + (output.float().pow(2) * inside.unsqueeze(-1)).sum()
        self.num_values += int(inside.sum()) * features
        if output.shape[1] > 1:
            both = (inside[:, 1:] & inside[:, :-1]).unsqueeze(-1)
            change = (output[:, 1:] - output[:, :-1]).float().pow(2) * both
            self.changes = self.changes + change.sum()
            self.num_changes += int(both.sum()) * features

    def terms(self) -> tuple[Tensor, Tensor] | None:
        """(AR, TAR) means, or None when no chunk backpropagated."""
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

    @staticmethod
    def upgrade_state(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
        """Weights saved by briskml 0.1.0 under today's names: its head was one flat Sequential
        of [BatchNorm, Dropout, Linear, ReLU] per block (no ReLU after the last), so head.<4k>.*
        is block k's BatchNorm (now head.<k>.bn.*) and head.<4k + 2>.* its Linear
        (head.<k>.linear.*)."""
        renamed = {}
        for key, value in tensors.items():
            position, _, rest = key.removeprefix("head.").partition(".")
            if key.startswith("head.") and position.isdigit() and rest:
                block, layer = divmod(int(position), _HEAD_BLOCK_SIZE_0_1_0)
                if layer in _HEAD_LAYERS_0_1_0:
                    key = f"head.{block}.{_HEAD_LAYERS_0_1_0[layer]}.{rest}"
            renamed[key] = value
        return renamed

    def reset(self) -> None:
        """Nothing carries over between batches; kept so every text model can be reset."""
        self.activation_sums = None

    def forward(self, tokens: Tensor) -> Tensor:
        """Class logits (batch, n_classes) for token rows padded at the end, in any order."""
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
