"""`load_learner`: an exported file back to a learner of its kind, ready to predict.

The file's `export_version` says which shape its JSON has: 2 since briskml 0.2.0, where the
application's fitted pipeline sits under "pipeline"; files of briskml 0.1.0 (format 1, their
fitted state under "extra") are upgraded by their learner class, or refused with a
FileFormatError that names the version and asks for a new export.
"""

from __future__ import annotations

from pathlib import Path

import torch

from briskml.checkpoint import build_model, read_export
from briskml.errors import FileFormatError
from briskml.learner import Learner, learner_class, learner_kinds


def load_learner(fname: str | Path, device: str | torch.device | None = "cpu") -> Learner:
    """Rebuild a learner saved with `export`, ready to predict (on the CPU unless told otherwise).

    Example:
        >>> learn = load_learner("adult.brisk")
        >>> learn.predict(df)
    """
    meta, tensors = read_export(fname)
    kind = meta.get("kind")
    cls = learner_class(kind) if isinstance(kind, str) else None
    if cls is None:
        raise FileFormatError(f"'{fname}' holds a learner of kind {kind!r}, unknown to this "
                              f"briskml (known: {learner_kinds()}).")
    version = meta.get("export_version", 1)
    if version == 1:   # its learner class turns 0.1.0's "extra" into "pipeline"
        upgraded = cls.upgrade_v1(meta, str(fname))
        meta = {key: value for key, value in upgraded.items() if key != "extra"}
    if not isinstance(meta.get("model"), dict):
        raise FileFormatError(f"'{fname}' does not say which model it holds; export it again.")
    model = build_model(meta["model"], tensors, str(fname), from_version=version)
    return cls._from_export(meta, model, device)
