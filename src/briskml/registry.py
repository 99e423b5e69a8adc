"""Model classes that exported files can name, so `load_learner` rebuilds a model from JSON alone.

A model registers its class with `@register_model`; it must take a single config dataclass and keep
it as `self.config`. An exported file then holds the class name and `dataclasses.asdict(config)`,
never code.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from briskml.errors import ConfigError, FileFormatError
from briskml.schema import (
    SchemaError,
    expect_bool,
    expect_dict,
    expect_int,
    expect_key,
    expect_list,
    expect_str,
    fail,
    shown,
)

ModelType = TypeVar("ModelType", bound=type[nn.Module])

_MODELS: dict[str, type[nn.Module]] = {}
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


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
    cls, config = config_from_spec(spec, source)
    return cls(config)


def config_from_spec(spec: Any, source: str, max_int: int | None = None
                     ) -> tuple[type[nn.Module], Any]:
    """The registered class `spec` names and its config dataclass built from `spec["config"]`;
    a SchemaError names the field when the spec is malformed (the config's own checks raise a
    ConfigError naming the argument). With `max_int`, no whole-number setting may exceed it,
    checked before the dataclass exists: a model's every size and count is at most the numbers
    its weights hold, and a constructor may loop over one before it makes a tensor."""
    spec = expect_dict(spec, "model")
    name = expect_str(expect_key(spec, "name", "model"), "model.name")
    cls = _MODELS.get(name)
    if cls is None:
        raise FileFormatError(
            f"'{source}' holds a model of type {name!r}, which this briskml does not know; "
            f"known types: {sorted(_MODELS)}. Import the module that defines it first."
        )
    config = expect_dict(expect_key(spec, "config", "model"), "model.config")
    _check_finite(config, "model.config")
    return cls, typed_config(cls.config_class, config, "model.config", max_int)


def typed_config(config_class: type, values: dict[str, Any], field: str,
                 max_int: int | None = None) -> Any:
    """`config_class(**values)` once each value has the type its annotation gives (JSON lists
    for tuples, a dict for a nested config dataclass); a SchemaError names the field."""
    hints = typing.get_type_hints(config_class)
    unknown = sorted(set(values) - {item.name for item in dataclasses.fields(config_class)})
    if unknown:
        raise fail(f"{field}.{unknown[0]}", f"is not a setting of {config_class.__name__}")
    checked = {}
    for name, value in values.items():
        checked[name] = _typed(value, hints[name], f"{field}.{name}", max_int)
    return config_class(**checked)


def _typed(value: Any, annotation: Any, field: str, max_int: int | None) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in args if option is not type(None)]
        if value is None and len(options) < len(args):
            return None
        if len(options) == 1:   # Optional[X]: X's own error names what is wrong
            return _typed(value, options[0], field, max_int)
        for option in options:
            try:
                return _typed(value, option, field, max_int)
            except SchemaError:
                continue
        raise fail(field, f"has the wrong type: {shown(value)}")
    if annotation is type(None):
        if value is not None:
            raise fail(field, "must be null")
        return None
    if annotation is bool:
        return expect_bool(value, field)
    if annotation is int:
        number = expect_int(value, field)
        if max_int is not None and abs(number) > max_int:
            raise fail(field, f"is {number}, more than the {max_int} numbers the file's weights "
                              "allow")
        return number
    if annotation is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fail(field, f"must be a number; got {shown(value)}")
        return float(value)
    if annotation is str:
        return expect_str(value, field)
    if origin is tuple:
        items = list(value) if isinstance(value, tuple) else expect_list(value, field)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_typed(item, args[0], f"{field}[{index}]", max_int)
                         for index, item in enumerate(items))
        if len(items) != len(args):
            raise fail(field, f"must have {len(args)} entries; got {len(items)}")
        return tuple(_typed(item, arg, f"{field}[{index}]", max_int)
                     for index, (item, arg) in enumerate(zip(items, args, strict=True)))
    if dataclasses.is_dataclass(annotation):
        return typed_config(annotation, expect_dict(value, field), field, max_int)
    return value


def _check_finite(value: Any, field: str) -> None:
    """No setting of any model is NaN, infinite, or beyond float32 (the weights' type)."""
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= _FLOAT32_MAX):
        raise fail(field, f"must be a finite number within float32's range; got {value}")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, f"{field}[{index}]")


def expected_shapes(spec: dict[str, Any], source: str, max_numel: int, max_tensors: int
                    ) -> dict[str, tuple[int, ...]]:
    """The state-dict shapes of the model `spec` describes, found by building it on PyTorch's
    "meta" device (no memory for weights); refused with a SchemaError as soon as building has
    made more than `max_numel` numbers or `max_tensors` tensors, so an absurd config (a
    million layers, a vocabulary of 1e12) fails in bounded time and memory."""
    cls, config = config_from_spec(spec, source, max_int=max_numel)
    budget = _CreationBudget(max_numel, max_tensors)
    with torch.device("meta"), budget:
        model = cls(config)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


# The torch functions that make a tensor with storage of its own (factories and copies); views
# (`t()`, indexing, `narrow` ...) share storage and are not counted.
_ALLOCATING = frozenset({
    "empty", "empty_strided", "empty_permuted", "zeros", "ones", "full", "rand", "randn",
    "randint", "randperm", "arange", "range", "linspace", "logspace", "eye", "tensor",
    "as_tensor", "asarray", "scalar_tensor", "clone", "new_empty", "new_zeros", "new_ones",
    "new_full", "new_tensor", "empty_like", "zeros_like", "ones_like", "full_like", "rand_like",
    "randn_like", "randint_like"})


class _CreationBudget(TorchFunctionMode):
    """Counts the tensors (and their numbers) that torch functions allocate, and stops at a cap."""

    def __init__(self, max_numel: int, max_tensors: int) -> None:
        super().__init__()
        self.max_numel, self.max_tensors = max_numel, max_tensors
        self.numel = self.tensors = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        result = func(*args, **(kwargs or {}))
        if isinstance(result, Tensor) and getattr(func, "__name__", "") in _ALLOCATING:
            self.numel += result.numel()
            self.tensors += 1
            if self.numel > self.max_numel or self.tensors > self.max_tensors:
                raise fail("model.config", "describes a model far larger than the weights the "
                                           "file holds")
        return result
