"""Model classes that exported files can name, so `load_learner` rebuilds a model from JSON alone.

A model registers its class with `@register_model`; it must take a single config dataclass and keep
it as `self.config`. An exported file then holds the class name and `dataclasses.asdict(config)`,
never code.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from torch import nn

from briskml.errors import ConfigError, FileFormatError

ModelType = TypeVar("ModelType", bound=type[nn.Module])

_MODELS: dict[str, type[nn.Module]] = {}


def register_model(cls: ModelType) -> ModelType:
    """Class decorator: let exported files rebuild `cls` from its config dataclass."""
    config_class = getattr(cls, "config_class", None)
    if config_class is None or not dataclasses.is_dataclass(config_class):
        raise ConfigError(f"{cls.__name__} needs a `config_class` dataclass to be registered.")
    _MODELS[cls.__name__] = cls
    return cls


def model_spec(model: nn.Module) -> dict[str, Any] | None:
    """The JSON that rebuilds `model`, or None when its class is not registered."""
    name = type(model).__name__
    if _MODELS.get(name) is not type(model) or not dataclasses.is_dataclass(model.config):
        return None
    return {"name": name, "config": dataclasses.asdict(model.config)}


def model_from_spec(spec: dict[str, Any], source: str) -> nn.Module:
    """Rebuild a model (untrained) from what `model_spec` returned."""
    cls = _MODELS.get(spec.get("name", ""))
    if cls is None:
        raise FileFormatError(
            f"'{source}' holds a model of type {spec.get('name')!r}, which this briskml does not "
            "know; "
            f"known types: {sorted(_MODELS)}. Import the module that defines it first."
        )
    return cls(cls.config_class(**spec["config"]))
