"""The contract every application's fitted pipeline keeps (tabular, collab, text).

A pipeline is what turns the user's raw data into the model's tensors and the model's outputs
back into what the user reads. It is fitted once, on the training rows only, then applied
unchanged to validation, test and inference data, and it travels inside an exported learner as
JSON (never pickle):

| method | what it does |
| --- | --- |
| `inputs(raw)` | raw rows / ratings / texts -> the model's input tensors |
| `decode(outputs)` | activated model outputs -> the user's labels or values (a DataFrame, labels) |
| `describe()` | a JSON-able summary for `briskml info` and `learn.describe()` |
| `to_json()` / `from_json(state)` | the fitted state as JSON-able values, and back |

A learner keeps its pipeline as `learn.pipeline`; `learn.export` stores `pipeline.to_json()` under
"pipeline" and the learner class rebuilds it with `from_json` in `load_learner`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class Pipeline(Protocol):
    """What `TabularPipeline`, `CollabPipeline` and `TextPipeline` share (see the module doc)."""

    def inputs(self, raw: Any) -> Any:
        """Raw data -> the model's input tensors."""
        ...

    def decode(self, outputs: Tensor) -> Any:
        """Activated model outputs -> what the user reads (labels, values, a DataFrame)."""
        ...

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary: columns, classes, vocabulary size ..."""
        ...

    def to_json(self) -> dict[str, Any]:
        """The fitted state as JSON-able values."""
        ...

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> Pipeline:
        """Rebuild what `to_json` wrote."""
        ...
