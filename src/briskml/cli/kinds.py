"""The kinds of exported learner that `briskml predict` and `briskml info` handle, by the file's
"kind". Adding one is one entry here: the application's CLI module supplies a ModelKind with its
`describe` and `predict` functions."""

from __future__ import annotations

from pathlib import Path

from briskml.cli import collab, tabular, text
from briskml.cli._common import ModelKind
from briskml.errors import FileFormatError

MODEL_KINDS: dict[str, ModelKind] = {
    "tabular": tabular.MODEL_KIND,
    "collab": collab.MODEL_KIND,
    "text_lm": text.LM_KIND,
    "text_classifier": text.CLASSIFIER_KIND,
}


def model_kind(kind: str | None, path: Path) -> ModelKind:
    """The handler for a file's kind; an error naming the kinds this briskml handles otherwise."""
    if kind not in MODEL_KINDS:
        raise FileFormatError(f"'{path}' holds a model of kind {kind!r}, which the briskml command "
                              f"cannot use yet; it handles {sorted(MODEL_KINDS)}.")
    return MODEL_KINDS[kind]
