"""The callbacks every text learner carries: hidden-state resets and AR/TAR regularisation."""

from __future__ import annotations

import math
from typing import Any

from briskml.callbacks import Callback
from briskml.checks import is_number
from briskml.errors import ConfigError


class ResetHiddenState(Callback):
    """Reset the model's hidden state at the start of each epoch's training and of validation,
    so neither continues from text it did not come after."""

    order = -10

    def before_train(self) -> None:
        """A new epoch starts a new pass over the text (an epoch resumed mid-way goes on with
        the hidden state its checkpoint holds)."""
        resumed, self._resumed = getattr(self, "_resumed", None), None
        if resumed is not None:
            self.learn.model.state = resumed
            return
        self._reset()

    def state_dict(self) -> dict[str, Any]:
        """Mid-epoch, the hidden state the next batch continues from (briskml.resume)."""
        state = getattr(self.learn.model, "state", None)
        if not self.learn.training or not state:
            return {}
        return {f"hidden.{layer}.{part}": value for layer, pair in enumerate(state)
                for part, value in enumerate(pair)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Keep a mid-epoch checkpoint's hidden state for the resumed epoch's first batch."""
        layers = len({key.split(".")[1] for key in state if key.startswith("hidden.")})
        self._resumed = [(state[f"hidden.{layer}.0"], state[f"hidden.{layer}.1"])
                         for layer in range(layers)] or None

    def before_validate(self) -> None:
        """Validation reads other text."""
        self._reset()

    def _reset(self) -> None:
        reset = getattr(self.learn.model, "reset", None)
        if reset is not None:
            reset()


class ActivationRegularizer(Callback):
    """The AWD-LSTM's AR and TAR, as the lessons' `seq2seq_reg`: while training, add
    alpha x mean(h^2) (h: the last layer's dropped outputs) and beta x mean((h_t - h_{t-1})^2)
    (raw outputs) to the loss that is backpropagated. The reported loss stays the plain one.

    The model provides the two terms through `activation_terms()`.
    """

    order = 0  # before DivergenceGuard and MixedPrecision (which scales the loss for float16)

    def __init__(self, alpha: float = 2.0, beta: float = 1.0) -> None:
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not is_number(value) or not 0 <= value < math.inf:
                raise ConfigError(f"{name} must be a non-negative number; got {value!r}. Use 0 "
                                  "to switch it off.")
        self.alpha, self.beta = float(alpha), float(beta)

    def after_loss(self) -> None:
        """Add the penalties to `learn.loss_grad`."""
        learn = self.learn
        if not learn.training or (self.alpha == 0 and self.beta == 0):
            return
        terms = getattr(learn.model, "activation_terms", lambda: None)()
        if terms is None:
            return
        ar, tar = terms
        learn.loss_grad = learn.loss_grad + self.alpha * ar + self.beta * tar
