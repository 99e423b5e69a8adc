"""Checkpoints (weights and optimizer state) and exported learners, as persist's bundles.

A checkpoint (`learn.save`) holds "model.*" and "opt.*" tensors; an export (`learn.export`) holds
the "model.*" tensors plus the JSON that rebuilds the model and decodes its predictions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from briskml.errors import ConfigError, FileFormatError
from briskml.losses import loss_from_name, loss_name
from briskml.persist import (
    BundleHeader,
    optimizer_from_bundle,
    optimizer_to_bundle,
    read_header,
    read_tensors,
    write_bundle,
)
from briskml.registry import config_from_spec, expected_shapes, model_from_spec, model_spec
from briskml.schema import (
    expect_dict,
    expect_key,
    expect_list,
    expect_number,
    expect_optional,
    expect_str,
    fail,
    in_file,
)


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> Path:
    """Write the model's weights (and the optimizer's state, when given) atomically."""
    tensors = _prefixed(model.state_dict(), "model.")
    meta: dict[str, Any] = {"content": "checkpoint"}
    if optimizer is not None:
        optimizer_tensors, meta["optimizer"] = optimizer_to_bundle(optimizer)
        tensors.update(optimizer_tensors)
    return write_bundle(path, tensors, meta)


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
    """Load what `save_checkpoint` wrote into `model` (and `optimizer`, when given)."""
    header = read_header(path)
    if header.meta.get("content") not in ("checkpoint", "learner"):
        raise FileFormatError(f"'{path}' holds {header.meta.get('content')!r}, not a checkpoint "
                              "from learn.save().")
    shapes = {key[len("model."):]: shape for key, shape in header.shapes.items()
              if key.startswith("model.")}
    check_state_shapes(model, shapes, str(path))   # before any tensor is read
    tensors = read_tensors(header)
    load_model_state(model, _unprefixed(tensors, "model."), str(path))
    if optimizer is None:
        return
    if "optimizer" not in header.meta:
        raise FileFormatError(f"'{path}' was saved without optimizer state; load it with "
                              "with_opt=False.")
    with in_file(str(path), "optimizer state", fix="Load it with with_opt=False."):
        optimizer_from_bundle(optimizer,
                              {k: v for k, v in tensors.items() if k.startswith("opt.")},
                              header.meta["optimizer"], str(path))


def check_state_shapes(model: nn.Module, shapes: dict[str, tuple[int, ...]],
                       source: str) -> None:
    """Refuse `shapes` (a file's state dict, without data) unless they are exactly `model`'s,
    naming any missing, unexpected or mis-shaped parameter."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise FileFormatError(
            f"'{source}' does not match this model: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}. Build the model with the configuration it was saved with."
        )
    for key, value in expected.items():
        if tuple(shapes[key]) != tuple(value.shape):
            raise FileFormatError(
                f"Parameter '{key}' has shape {tuple(shapes[key])} in '{source}' but "
                f"{tuple(value.shape)} in this model. Build the model with the configuration it "
                "was saved with."
            )


def load_model_state(model: nn.Module, tensors: dict[str, Tensor], source: str) -> None:
    """Copy `tensors` into `model`, naming any missing, unexpected or mis-shaped parameter."""
    check_state_shapes(model, {key: tuple(value.shape) for key, value in tensors.items()},
                       source)
    model.load_state_dict(tensors)


EXPORT_VERSION = 2   # of exported learners; briskml 0.1.0 wrote 1 (no "export_version" key)


def write_export(path: Path, model: nn.Module, meta: dict[str, Any], overwrite: bool) -> Path:
    """Write an exported learner: the model's weights, how to rebuild it, and `meta`."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it "
                              "or choose another name.")
    spec = model_spec(model)
    if spec is None:
        raise ConfigError(
            f"export needs a model registered with briskml.registry.register_model; "
            f"{type(model).__name__} is not. Use learn.save() to keep its weights."
        )
    document = {"content": "learner", "export_version": EXPORT_VERSION,
                "briskml_version": _briskml_version(), "model": spec, **meta}
    return write_bundle(path, _prefixed(model.state_dict(), "model."), document)


def read_export(path: str | Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """Read an exported learner's JSON and its model's tensors (not yet loaded into a model)."""
    header, tensors = read_export_bundle(path)
    return header.meta, _unprefixed(tensors, "model.")


def read_export_bundle(path: str | Path) -> tuple[BundleHeader, dict[str, Tensor]]:
    """An exported learner's header and tensors, checked: the file's integrity (header, checksum,
    finite weights) first, then its content, versions and general fields (kind, loss, metrics,
    last epoch). Memory is bounded by the file's size; nothing is built."""
    header = read_header(path)
    tensors = read_tensors(header)
    meta = header.meta
    if meta.get("content") != "learner":
        raise FileFormatError(f"'{path}' is a checkpoint from learn.save(), not an exported "
                              "learner; load it with learn.load(name) on a matching learner.")
    version = meta.get("export_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileFormatError(f"'{path}' has export_version {version!r}, which no briskml "
                              "writes; the file is damaged. Export the learner again.")
    if version > EXPORT_VERSION:
        raise FileFormatError(f"'{path}' was exported by a newer briskml (file format {version}; "
                              f"this briskml reads up to {EXPORT_VERSION}); upgrade briskml.")
    with in_file(str(path), "general fields"):
        _check_general_fields(meta)
    return header, tensors


def _check_general_fields(meta: dict[str, Any]) -> None:
    expect_str(expect_key(meta, "kind", ""), "kind")
    expect_optional(meta.get("briskml_version"), "briskml_version", expect_str)
    loss = expect_optional(meta.get("loss"), "loss", expect_str)
    if loss is not None and loss_from_name(loss) is None:
        raise fail("loss", f"names a loss this briskml does not know: {loss!r}")
    for index, metric in enumerate(expect_list(meta.get("metrics", []), "metrics", 1000)):
        expect_str(metric, f"metrics[{index}]")
    last = expect_optional(meta.get("last_epoch"), "last_epoch", expect_dict)
    for name, value in (last or {}).items():   # the recorder's row: epoch, losses, metrics, time
        expect_optional(value, f"last_epoch.{name}", expect_number)


def check_model_fits(spec: Any, shapes: dict[str, tuple[int, ...]], source: str,
                     from_version: int = EXPORT_VERSION) -> None:
    """Refuse, before the model is built, a `spec` whose model would not have exactly the
    tensors of `shapes` (the file's, read from its header): the model is built on the meta
    device under a budget twice the file's size, then its state-dict shapes are compared."""
    numel = sum(math.prod(shape) for shape in shapes.values())
    expected = expected_shapes(spec, source, max_numel=2 * numel + 1_000_000,
                               max_tensors=4 * len(shapes) + 1_000)
    cls, _ = config_from_spec(spec, source)
    upgrade = getattr(cls, "upgrade_state", None)
    if from_version < EXPORT_VERSION and upgrade is not None:
        renamed = upgrade({key: torch.empty(shape, device="meta")
                           for key, shape in shapes.items()})
        shapes = {key: tuple(value.shape) for key, value in renamed.items()}
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise fail("model.config", f"does not match the file's weights: missing {missing[:5]}, "
                                   f"unexpected {unexpected[:5]}")
    for key, shape in expected.items():
        if shapes[key] != shape:
            raise fail("model.config", f"gives weight '{key}' the shape {shape}, but the file "
                                       f"holds {shapes[key]}")


def build_model(spec: dict[str, Any], tensors: dict[str, Tensor], source: str,
                from_version: int = EXPORT_VERSION) -> nn.Module:
    """The model `spec` names, holding `tensors`; weights of an older file format are renamed
    first by the model class's `upgrade_state`, when it has one."""
    model = model_from_spec(spec, source)
    upgrade = getattr(type(model), "upgrade_state", None)
    if from_version < EXPORT_VERSION and upgrade is not None:
        tensors = upgrade(tensors)
    load_model_state(model, tensors, source)
    return model


def _briskml_version() -> str:
    from briskml import __version__  # the package imports this module: read it at call time

    return __version__


def _prefixed(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {prefix + key: value for key, value in tensors.items()}


def _unprefixed(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


class LearnerFiles:
    """The Learner's file methods: `save` / `load` checkpoints and `export` (Learner inherits
    them; `load_learner` in briskml.export reads what `export` writes)."""

    kind: ClassVar[str]
    pipeline: Any

    def save(self, name: str, with_opt: bool = True) -> Path:
        """Save weights (and optimizer state) to path/models/<name>.safetensors, atomically.

        A checkpoint of the same name is replaced, as in fastai; the write is atomic, so an
        interrupted save leaves the previous checkpoint whole.
        """
        return save_checkpoint(self._checkpoint_path(name), self.model,
                               self.opt if with_opt else None)

    def load(self, name: str, with_opt: bool = True) -> Any:
        """Load weights (and optimizer state) saved by `save(name)`."""
        load_checkpoint(self._checkpoint_path(name), self.model, self.opt if with_opt else None)
        return self

    def _checkpoint_path(self, name: str) -> Path:
        return self.path / "models" / f"{name}.safetensors"

    def export(self, fname: str | Path = "export.brisk", overwrite: bool = False) -> Path:
        """Write one file (safetensors weights + JSON) that `load_learner` makes a learner again.

        The file lands in `path` unless `fname` is absolute; an existing file is only replaced
        with `overwrite=True`.
        """
        target = Path(fname) if Path(fname).is_absolute() else self.path / fname
        meta = {
            "kind": self.kind,
            "loss": loss_name(self.loss_func),
            "metrics": [metric.name for metric in self.metrics],
            "last_epoch": self.recorder.values[-1] if self.recorder.values else None,
            "pipeline": self.pipeline.to_json() if self.pipeline is not None else None,
        }
        return write_export(target, self.model, meta, overwrite)

    @classmethod
    def check_export(cls, meta: dict[str, Any], shapes: dict[str, tuple[int, ...]],
                     source: str) -> Any:
        """Refuse an export whose JSON does not fit its weights, before any model is built.

        `load_learner` calls this after the model's config is known to match the file's tensor
        `shapes` (state-dict keys without the "model." prefix; no data loaded yet). Application
        learners check `meta["pipeline"]` field by field with briskml.schema and against the
        config and shapes (categories against embedding rows, vocabulary against the embedding,
        classes against the output layer); any error is reported as a FileFormatError naming
        `source` and the field. Returns the checked pipeline, which `load_learner` hands to
        `_from_export`; the plain Learner keeps none (None).
        """
        return None

    @classmethod
    def _from_export(cls, meta: dict[str, Any], model: nn.Module,
                     device: str | torch.device | None, pipeline: Any = None) -> Any:
        """Rebuild a learner of this kind for inference from an export's JSON and model;
        application learners take `pipeline` (what `check_export` returned), or rebuild it from
        `meta["pipeline"]` when called without it."""
        loss = loss_from_name(meta.get("loss"))
        return cls(None, model, loss_func=loss, device=device, progress=False)

    @classmethod
    def upgrade_v1(cls, meta: dict[str, Any], source: str) -> dict[str, Any]:
        """The JSON of a file exported by briskml 0.1.0 (format 1) in today's shape: application
        learners turn its `extra` into `pipeline`, or raise FileFormatError asking to re-export."""
        return {**meta, "pipeline": None}
