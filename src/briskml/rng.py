"""Every random generator's state in one value: Python's, NumPy's, PyTorch's and CUDA's.

`lr_find` uses it to leave training exactly as it found it.

Example:
    >>> states = get_rng_states()
    >>> ...                      # anything that draws random numbers
    >>> set_rng_states(states)   # the same numbers come again
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def get_rng_states() -> dict[str, Any]:
    """The state of Python's, NumPy's, PyTorch's (and, when present, CUDA's) generators."""
    states = {"python": random.getstate(), "numpy": np.random.get_state(),
              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Put back what `get_rng_states` returned."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])
