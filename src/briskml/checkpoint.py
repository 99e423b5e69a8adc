"""Checkpoints (weights and optimizer state) and exported learners, as persist's bundles.

A checkpoint (`learn.save`) holds "model.*" and "opt.*" tensors; an export (`learn.export`) holds
the "model.*" tensors plus the JSON that rebuilds the model and decodes its predictions.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from briskml.errors import ConfigError, FileFormatError
from briskml.persist import optimizer_from_bundle, optimizer_to_bundle, read_bundle, write_bundle
from briskml.registry import model_from_spec, model_spec


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
    tensors, meta = read_bundle(path)
    load_model_state(model, _unprefixed(tensors, "model."), str(path))
    if optimizer is None:
        return
    if "optimizer" not in meta:
        raise FileFormatError(f"'{path}' was saved without optimizer state; load it with "
                              "with_opt=False.")
    optimizer_from_bundle(optimizer, {k: v for k, v in tensors.items() if k.startswith("opt.")},
                          meta["optimizer"], str(path))


def load_model_state(model: nn.Module, tensors: dict[str, Tensor], source: str) -> None:
    """Copy `tensors` into `model`, naming any missing, unexpected or mis-shaped parameter."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise FileFormatError(
            f"'{source}' does not match this model: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}. Build the model with the configuration it was saved with."
        )
    for key, value in expected.items():
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise FileFormatError(
                f"Parameter '{key}' has shape {tuple(tensors[key].shape)} in '{source}' but "
                f"{tuple(value.shape)} in this model. Build the model with the configuration it "
                "was saved with."
            )
    model.load_state_dict(tensors)


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
    document = {"content": "learner", "model": spec, **_json_safe(meta)}
    return write_bundle(path, _prefixed(model.state_dict(), "model."), document)


def read_export(path: str | Path) -> tuple[dict[str, Any], nn.Module]:
    """Read an exported learner: its JSON and its model, rebuilt with the trained weights."""
    tensors, meta = read_bundle(path)
    if meta.get("content") != "learner":
        raise FileFormatError(f"'{path}' is a checkpoint from learn.save(), not an exported "
                              "learner; load it with learn.load(name) on a matching learner.")
    model = model_from_spec(meta["model"], str(path))
    load_model_state(model, _unprefixed(tensors, "model."), str(path))
    return meta, model


def _prefixed(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {prefix + key: value for key, value in tensors.items()}


def _unprefixed(tensors: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}


def _json_safe(value: Any) -> Any:
    """NaN and infinity are not JSON: store them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value
