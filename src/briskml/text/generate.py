"""Text generation with a language model: read the prompt once, then sample one token at a time.

The prompt goes through the model in one call; each new token is one step that continues the
returned hidden state, so n words cost n single-token steps (fastai re-reads the whole text for
every word).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from briskml.checks import check_non_negative_int, check_positive_int, check_probability, is_number
from briskml.errors import BriskWarning, ConfigError
from briskml.inference import inference
from briskml.text.awd_lstm import AWDLSTMLanguageModel


@dataclass(frozen=True)
class SamplingOptions:
    """How the next token is drawn from the model's distribution.

    temperature: divides the logits (below 1: safer words; 0: always the most likely one).
    min_p: tokens with a probability below it are never drawn (fastai's meaning).
    top_k: only the k most likely tokens may be drawn.
    banned: token ids never drawn (xxunk with no_unk, xxpad).
    """

    temperature: float = 1.0
    min_p: float | None = None
    top_k: int | None = None
    banned: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not is_number(self.temperature) or not 0 <= self.temperature < math.inf:
            raise ConfigError(f"temperature must be >= 0 (0 picks the most likely word); got "
                              f"{self.temperature!r}.")
        if self.min_p is not None:
            check_probability(self.min_p, "min_p", "Use None to draw from every token.")
        if self.top_k is not None:
            check_positive_int(self.top_k, "top_k", "Use None to draw from every token.")


def next_token(logits: Tensor, options: SamplingOptions,
               generator: torch.Generator | None = None) -> int:
    """Draw one token id from a (vocab_size,) row of logits."""
    logits = logits.float().clone()
    if options.banned:
        logits[list(options.banned)] = float("-inf")
    if options.top_k is not None and options.top_k < logits.numel():
        threshold = torch.topk(logits, options.top_k).values[-1]
        logits[logits < threshold] = float("-inf")
    if options.temperature == 0:
        return int(torch.argmax(logits))
    probabilities = torch.softmax(logits / options.temperature, dim=-1)
    if options.min_p is not None:
        allowed = probabilities >= options.min_p
        if allowed.any():
            probabilities = probabilities * allowed
        else:
            warnings.warn(f"No token has a probability >= min_p={options.min_p}; ignoring "
                          "min_p for this word. Try a lower value.", BriskWarning, stacklevel=3)
    return int(torch.multinomial(probabilities, 1, generator=generator))


def generate_ids(model: AWDLSTMLanguageModel, prompt: Tensor, n_words: int,
                 options: SamplingOptions, generator: torch.Generator | None = None
                 ) -> list[int]:
    """`n_words` token ids that follow the 1-D `prompt` of ids (eval mode, no gradients)."""
    check_non_negative_int(n_words, "n_words")
    if prompt.numel() == 0:
        raise ConfigError("The prompt has no tokens; start it with xxbos at least.")
    device = next(model.parameters()).device
    generated: list[int] = []
    with inference(model):
        logits, state = model.step(prompt.to(device).unsqueeze(0), None)
        for _ in range(n_words):
            token = next_token(logits[0, -1], options, generator)
            generated.append(token)
            logits, state = model.step(torch.tensor([[token]], device=device), state)
    return generated


def banned_ids(special_ids: Sequence[int]) -> tuple[int, ...]:
    """The ids never generated, in order and without repeats."""
    return tuple(dict.fromkeys(special_ids))
