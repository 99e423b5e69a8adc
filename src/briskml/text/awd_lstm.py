"""The AWD-LSTM (Merity et al. 2017) as the lessons build it: embedding, LSTMs, tied decoder.

`AWDLSTM` (public alias `AWD_LSTM`) is the encoder shared by the language model and the
classifier: embedding (with embedding dropout) -> locked dropout -> n_layers LSTMs with
DropConnect, locked dropout between them. `AWDLSTMLanguageModel` adds output dropout and a decoder
whose weight is the embedding's, and keeps its hidden state from one batch to the next.

Example:
    >>> config = AWDLSTMConfig(vocab_size=len(vocab), emb_sz=200, n_hid=400, n_layers=2)
    >>> model = AWDLSTMLanguageModel(config)
    >>> logits = model(tokens)   # (batch, seq_len, vocab_size)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from briskml.checks import check_positive_int, check_probability, is_number
from briskml.errors import ConfigError
from briskml.registry import register_model
from briskml.text.dropout import (
    LayerState,
    LockedDropout,
    WeightDropLSTM,
    embedding_with_dropout,
)

EMBEDDING_INIT_RANGE = 0.1
DROPOUT_NAMES = ("input_p", "hidden_p", "weight_p", "embed_p", "output_p")
# The lessons' dropout for a language model and for a classifier (fastai's awd_lstm_*_config).
LM_DROPOUTS = {"input_p": 0.25, "hidden_p": 0.15, "weight_p": 0.2, "embed_p": 0.02,
               "output_p": 0.1}
CLASSIFIER_DROPOUTS = {"input_p": 0.4, "hidden_p": 0.3, "weight_p": 0.5, "embed_p": 0.05,
                       "output_p": 0.4}
# The fields that fix the shapes of the weights: a pretrained model must agree on these.
ARCHITECTURE_FIELDS = ("emb_sz", "n_hid", "n_layers", "pad_token", "tie_weights", "out_bias")


@dataclass(frozen=True)
class AWDLSTMConfig:
    """Sizes and dropout of an AWD-LSTM; the defaults are the lessons' language model.

    `vocab_size` may stay None until a learner fills it in from its data.

    Example:
        >>> AWDLSTMConfig(emb_sz=200, n_hid=400, n_layers=2)       # a CPU-sized model
        >>> AWDLSTMConfig.for_classifier(vocab_size=60000)          # the classifier's dropout
    """

    vocab_size: int | None = None
    emb_sz: int = 400
    n_hid: int = 1152
    n_layers: int = 3
    pad_token: int = 1
    input_p: float = 0.25     # locked dropout on the embedding output
    hidden_p: float = 0.15    # locked dropout between LSTM layers
    weight_p: float = 0.2     # DropConnect on hidden-to-hidden weights
    embed_p: float = 0.02     # whole words dropped from the embedding
    output_p: float = 0.1     # before the decoder (LM) or the classifier head
    tie_weights: bool = True  # decoder weight = embedding weight
    out_bias: bool = True

    def __post_init__(self) -> None:
        for name in ("emb_sz", "n_hid", "n_layers"):
            check_positive_int(getattr(self, name), name)
        if self.vocab_size is not None:
            check_positive_int(self.vocab_size, "vocab_size")
            if not 0 <= self.pad_token < self.vocab_size:
                raise ConfigError(f"pad_token must be an id in [0, {self.vocab_size}); got "
                                  f"{self.pad_token!r}.")
        for name in DROPOUT_NAMES:
            check_probability(getattr(self, name), name,
                              "Lower drop_mult if it scaled a probability to 1 or more.")

    @classmethod
    def for_classifier(cls, **fields: Any) -> AWDLSTMConfig:
        """A config with the lessons' classifier dropout (input_p=0.4, ..., output_p=0.4)."""
        return cls(**{**CLASSIFIER_DROPOUTS, **fields})

    def scaled(self, drop_mult: float) -> AWDLSTMConfig:
        """The same config with every dropout probability multiplied by `drop_mult`."""
        if not is_number(drop_mult) or not 0 <= drop_mult < math.inf:
            raise ConfigError(f"drop_mult must be a non-negative number; got {drop_mult!r}.")
        return dataclasses.replace(
            self, **{name: getattr(self, name) * drop_mult for name in DROPOUT_NAMES})

    def architecture(self) -> dict[str, Any]:
        """The fields that fix the weights' shapes (vocab_size aside)."""
        return {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(input_size, hidden_size) of each LSTM layer: the last one outputs emb_sz."""
        sizes = []
        for layer in range(self.n_layers):
            input_size = self.emb_sz if layer == 0 else self.n_hid
            hidden_size = self.emb_sz if layer == self.n_layers - 1 else self.n_hid
            sizes.append((input_size, hidden_size))
        return sizes


def resolve_config(config: AWDLSTMConfig | Mapping[str, Any] | None, vocab_size: int,
                   defaults: Mapping[str, float], drop_mult: float) -> AWDLSTMConfig:
    """The config a learner builds: `defaults` overridden by `config` (a dataclass or a dict of
    fields), with the data's vocab size and every dropout scaled by `drop_mult`."""
    if config is None:
        config = AWDLSTMConfig(vocab_size=vocab_size, **defaults)
    elif isinstance(config, Mapping):
        unknown = sorted(set(config) - {field.name for field in dataclasses.fields(AWDLSTMConfig)})
        if unknown:
            raise ConfigError(f"Unknown AWD-LSTM config field(s) {unknown}; the fields are "
                              f"{[field.name for field in dataclasses.fields(AWDLSTMConfig)]}.")
        config = AWDLSTMConfig(**{**defaults, **config, "vocab_size": vocab_size})
    elif isinstance(config, AWDLSTMConfig):
        if config.vocab_size not in (None, vocab_size):
            raise ConfigError(f"config.vocab_size is {config.vocab_size} but the data's vocab has "
                              f"{vocab_size} tokens; leave vocab_size=None to take the data's.")
        config = dataclasses.replace(config, vocab_size=vocab_size)
    else:
        raise ConfigError(f"config must be an AWDLSTMConfig, a dict of its fields or None; got "
                          f"{type(config).__name__}.")
    return config.scaled(drop_mult)


def check_arch(arch: Any) -> None:
    """Only the AWD-LSTM is implemented; say so for anything else."""
    if arch is not AWDLSTM:
        raise ConfigError(f"arch must be AWD_LSTM (briskml.text.AWD_LSTM); got {arch!r}.")


class AWDLSTM(nn.Module):
    """The AWD-LSTM encoder: embedding -> n_layers LSTMs, with all five of its dropouts.

    `forward(tokens, state)` returns the last layer's output (batch, seq_len, emb_sz) and the new
    state of every layer; the caller decides whether to keep that state.

    Example:
        >>> encoder = AWD_LSTM(AWDLSTMConfig(vocab_size=1000, emb_sz=64, n_hid=128, n_layers=2))
        >>> output, state = encoder(tokens)
    """

    config_class = AWDLSTMConfig

    def __init__(self, config: AWDLSTMConfig) -> None:
        super().__init__()
        if config.vocab_size is None:
            raise ConfigError("AWDLSTMConfig.vocab_size must be set to build a model.")
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.emb_sz,
                                      padding_idx=config.pad_token)
        nn.init.uniform_(self.embedding.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        self.layers = nn.ModuleList(WeightDropLSTM(input_size, hidden_size, config.weight_p)
                                    for input_size, hidden_size in config.layer_sizes())
        self.input_dropout = LockedDropout(config.input_p)
        self.hidden_dropout = LockedDropout(config.hidden_p)

    def dropped_weights(self) -> list[Tensor]:
        """Each layer's hidden-to-hidden weights with DropConnect applied: one mask per call."""
        return [layer.dropped_weight_hh() for layer in self.layers]

    def forward(self, tokens: Tensor, state: list[LayerState] | None = None,
                weights_hh: list[Tensor] | None = None) -> tuple[Tensor, list[LayerState]]:
        """The last layer's output (batch, seq_len, emb_sz) and every layer's new state."""
        embedded = embedding_with_dropout(tokens, self.embedding.weight, self.config.embed_p,
                                          self.training, self.config.pad_token)
        output = self.input_dropout(embedded)  # (batch, seq_len, emb_sz)
        if weights_hh is None:
            weights_hh = self.dropped_weights()
        new_state = []
        for index, layer in enumerate(self.layers):
            layer_state = None if state is None else state[index]
            output, layer_state = layer(output, layer_state, weights_hh[index])
            new_state.append(layer_state)
            if index < len(self.layers) - 1:
                output = self.hidden_dropout(output)  # (batch, seq_len, n_hid)
        return output, new_state


AWD_LSTM = AWDLSTM


@register_model
class AWDLSTMLanguageModel(nn.Module):
    """AWD-LSTM encoder + output dropout + decoder tied to the embedding: next-token logits.

    The hidden state carries over from one batch to the next (detached, so backpropagation stops
    at the batch boundary) until `reset()`; a batch of another size starts from zeros.

    Example:
        >>> model = AWDLSTMLanguageModel(AWDLSTMConfig(vocab_size=1000, emb_sz=64, n_hid=128))
        >>> logits = model(tokens)   # (batch, seq_len, 1000)
    """

    config_class = AWDLSTMConfig

    def __init__(self, config: AWDLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = AWDLSTM(config)
        self.output_dropout = LockedDropout(config.output_p)
        self.decoder = nn.Linear(config.emb_sz, config.vocab_size, bias=config.out_bias)
        if config.out_bias:
            nn.init.zeros_(self.decoder.bias)
        if config.tie_weights:
            self.decoder.weight = self.encoder.embedding.weight
        else:
            nn.init.uniform_(self.decoder.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        self.state: list[LayerState] | None = None
        self.activations: tuple[Tensor, Tensor] | None = None

    def reset(self) -> None:
        """Forget the hidden state (at each epoch, before validation, before generating)."""
        self.state = None
        self.activations = None

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits (batch, seq_len, vocab_size), continuing the kept hidden state."""
        state = self.state
        if state is not None and state[0][0].shape[1] != tokens.shape[0]:
            state = None
        output, new_state = self.encoder(tokens, state)
        self.state = [(h.detach(), c.detach()) for h, c in new_state]
        dropped = self.output_dropout(output)
        # Kept for activation regularisation (AR on `dropped`, TAR on `output`) while training.
        self.activations = (output, dropped) if self.training else None
        return self.decoder(dropped)  # (batch, seq_len, vocab_size)

    def step(self, tokens: Tensor, state: list[LayerState] | None
             ) -> tuple[Tensor, list[LayerState]]:
        """Logits for `tokens` from an explicit `state`, leaving the model's own state alone."""
        output, new_state = self.encoder(tokens, state)
        return self.decoder(self.output_dropout(output)), new_state

    def activation_terms(self) -> tuple[Tensor, Tensor] | None:
        """(AR, TAR) of the last training batch: mean square of the dropped outputs, and of the
        change of the raw outputs from one time step to the next."""
        if self.activations is None:
            return None
        output, dropped = self.activations
        ar = dropped.float().pow(2).mean()
        if output.shape[1] < 2:
            return ar, ar.new_zeros(())
        return ar, (output[:, 1:] - output[:, :-1]).float().pow(2).mean()


def language_model_splitter(model: AWDLSTMLanguageModel) -> list[list[nn.Parameter]]:
    """Layer groups: one per LSTM layer, then the embedding with the (tied) decoder last."""
    groups = [list(layer.parameters()) for layer in model.encoder.layers]
    last = list(model.encoder.embedding.parameters())
    last += [param for param in model.decoder.parameters()
             if all(param is not other for other in last)]
    return [*groups, last]
