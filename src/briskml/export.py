"""`load_learner`: an exported file back to a learner of its kind, ready to predict.

The file's `export_version` says which shape its JSON has: 2 since briskml 0.2.0, where the
application's fitted pipeline sits under "pipeline"; files of briskml 0.1.0 (format 1, their
fitted state under "extra") are upgraded by their learner class, or refused with a
FileFormatError that names the version and asks for a new export.
"""

from __future__ import annotations

from pathlib import Path

import torch

from briskml.checkpoint import build_model, check_model_fits, read_export_bundle
from briskml.errors import FileFormatError
from briskml.learner import Learner, learner_class, learner_kinds
from briskml.schema import expect_key, fail, in_file


def load_learner(fname: str | Path, device: str | torch.device | None = "cpu") -> Learner:
    """Rebuild a learner saved with `export`, ready to predict (on the CPU unless told otherwise).

    Example:
        >>> learn = load_learner("adult.brisk")
        >>> learn.predict(df)
    """
    source = str(fname)
    header, all_tensors = read_export_bundle(fname)
    meta = header.meta
    kind = meta["kind"]
    cls = learner_class(kind)
    if cls is None:
        raise FileFormatError(f"'{fname}' holds a learner of kind {kind!r}, unknown to this "
                              f"briskml (known: {learner_kinds()}).")
    version = meta.get("export_version", 1)
    with in_file(source, "fitted state"):
        if version == 1:   # its learner class turns 0.1.0's "extra" into "pipeline"
            upgraded = cls.upgrade_v1(meta, source)
            meta = {key: value for key, value in upgraded.items() if key != "extra"}
        shapes = {key[len("model."):]: shape for key, shape in header.shapes.items()
                  if key.startswith("model.")}
        if len(shapes) != len(header.shapes):
            raise fail("(tensors)", "holds tensors outside the model ('model.*')")
        check_model_fits(expect_key(meta, "model", ""), shapes, source, from_version=version)
        pipeline = cls.check_export(meta, shapes, source)
    tensors = {key[len("model."):]: value for key, value in all_tensors.items()}
    model = build_model(meta["model"], tensors, source, from_version=version)
    with in_file(source, "fitted state"):
        return cls._from_export(meta, model, device, pipeline)
