"""Damaged and hostile model files, for every kind of learner: each field of a real export edited
(types, ranges, sizes, NaN), bits flipped, NaN written into weights. A damaged file is always
refused with a FileFormatError; a re-signed hostile edit is refused, or (where the edited value
is one a model may really have) loads and predicts finite values; nothing ever raises another
error or allocates without bound (the loads run under an address-space limit)."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import briskml as bm
from briskml.checkpoint import check_model_fits
from briskml.errors import BriskError, FileFormatError
from briskml.registry import model_spec
from tests import tamper
from tests.test_learner_kinds import CASES, Case

LIMIT = 3 * 1024**3   # address space beyond what the test process already has
KINDS = list(CASES)   # every kind of learner
# Edits that no value of any field survives.
ALWAYS_REFUSED = ("type", "nan", "inf")
# Integer settings that are lengths of work, not sizes of weights: any positive value is valid.
NOT_SIZES = {"seq_len", "max_len"}


@pytest.fixture(scope="module", params=KINDS)
def exported(request, tmp_path_factory) -> Iterator[tuple[str, Case, Path]]:
    torch.manual_seed(0)
    case = CASES[request.param]()
    path = case.learn.export(tmp_path_factory.mktemp("tamper") / f"{request.param}.brisk")
    yield request.param, case, path


def _assert_finite(result: Any, where: str) -> None:
    """Every number in a prediction (frame, array, tensor, tuple) is finite."""
    if isinstance(result, (tuple, list)):
        for item in result:
            _assert_finite(item, where)
    elif isinstance(result, pd.DataFrame):
        numbers = result.select_dtypes("number")
        assert np.isfinite(numbers.to_numpy(dtype=float)).all(), where
    elif isinstance(result, torch.Tensor) and result.is_floating_point():
        assert bool(torch.isfinite(result).all()), where
    elif isinstance(result, np.ndarray) and result.dtype.kind == "f":
        assert np.isfinite(result).all(), where
    elif isinstance(result, float):
        assert math.isfinite(result), where


def _strict(path: tamper.Path_, edit: str) -> bool:
    if edit in ALWAYS_REFUSED:
        return True
    in_config = path[:2] == ("model", "config")
    return in_config and edit == "huge" and path[-1] not in NOT_SIZES


def test_a_damaged_field_is_always_refused(exported, tmp_path):
    """Any edit that does not recompute the checksum is refused before anything is built."""
    _kind, _, path = exported
    tensors, document, metadata = tamper.read_raw(path)
    target = tmp_path / "edited.brisk"
    for field in tamper.leaf_paths(document):
        for _edit, new in tamper.edits(_value(document, field)).items():
            tamper.write_raw(target, tensors, tamper.edited(document, field, new), metadata,
                             resign=False)
            with pytest.raises(FileFormatError, match="edited"):
                bm.load_learner(target)


def test_a_hostile_edit_is_refused_or_harmless(exported, tmp_path):
    """Re-signed edits: refused with a FileFormatError naming the file, or a learner that
    predicts finite values (or refuses the input with a clear BriskError, when the edit renamed
    a column, or warns that some predictions are not finite, when the edit is a legal but absurd
    value such as a mean of 1e300); never another error, never unbounded memory."""
    kind, case, path = exported
    tensors, document, metadata = tamper.read_raw(path)
    target = tmp_path / "edited.brisk"
    accepted = []
    with tamper.address_space_limit(LIMIT):
        for field in tamper.leaf_paths(document):
            for edit, new in tamper.edits(_value(document, field)).items():
                tamper.write_raw(target, tensors, tamper.edited(document, field, new), metadata,
                                 resign=True)
                where = f"{kind}: {edit} of {tamper.dotted(field)}"
                try:
                    learn = bm.load_learner(target)
                except FileFormatError as error:
                    assert str(target) in str(error), where
                    continue
                assert not _strict(field, edit), f"{where} was accepted"
                accepted.append(where)
                try:   # e.g. a renamed column: the input is refused with a clear error
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        result = learn.predict(case.predict_input, **case.predict_options)
                except BriskError:
                    continue
                if not any("NaN or infinite" in str(item.message) for item in caught):
                    _assert_finite(result, where)   # never silently
    assert len(accepted) < sum(1 for _ in tamper.leaf_paths(document)) * 2


def test_flipped_bits_are_refused(exported, tmp_path):
    """A single flipped bit anywhere in the header, or in the weights, is refused."""
    _kind, _, path = exported
    data = path.read_bytes()
    header_bits = (8 + tamper.header_length(data)) * 8
    chooser = random.Random(0)
    bits = chooser.sample(range(header_bits), 150) + chooser.sample(
        range(header_bits, len(data) * 8), 50)
    target = tmp_path / "flipped.brisk"
    with tamper.address_space_limit(LIMIT):
        for bit in bits:
            target.write_bytes(tamper.flip_bit(data, bit))
            with pytest.raises(FileFormatError):
                bm.load_learner(target)


def test_nan_in_any_weight_is_refused(exported, tmp_path):
    _kind, _, path = exported
    tensors, document, metadata = tamper.read_raw(path)
    target = tmp_path / "nan.brisk"
    for name, tensor in tensors.items():
        if not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        poisoned = dict(tensors)
        poisoned[name] = tensor.clone().reshape(-1)
        poisoned[name][0] = math.nan
        poisoned[name] = poisoned[name].reshape(tensor.shape)
        tamper.write_raw(target, poisoned, document, metadata, resign=True)
        with pytest.raises(FileFormatError, match=f"'{name}' holds NaN"):
            bm.load_learner(target)


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("language_model", ("model", "config", "n_layers"), 1_000_000),
    ("language_model", ("model", "config", "vocab_size"), 10**12),
    ("tabular_classifier", ("model", "config", "emb_szs", 0, 0), 25_000_000),
    ("collab_dot", ("model", "config", "n_users"), 4e7),
])
def test_absurd_sizes_are_refused_in_bounded_memory(kind, field, value, tmp_path):
    """The one-line edits that once made the loader allocate gigabytes."""
    torch.manual_seed(0)
    path = CASES[kind]().learn.export(tmp_path / "real.brisk")
    tensors, document, metadata = tamper.read_raw(path)
    target = tamper.write_raw(tmp_path / "absurd.brisk", tensors,
                              tamper.edited(document, field, value), metadata, resign=True)
    with tamper.address_space_limit(LIMIT), pytest.raises(FileFormatError, match=r"model\.config"):
        bm.load_learner(target)


def test_a_header_over_safetensors_cap_is_refused(tmp_path):
    path = tmp_path / "big.brisk"
    path.write_bytes((200_000_000).to_bytes(8, "little") + b"{}")
    with pytest.raises(FileFormatError, match="at most 100000000"):
        bm.load_learner(path)


def _value(document: dict[str, Any], path: tamper.Path_) -> Any:
    for part in path:
        document = document[part]
    return document


@pytest.mark.parametrize("build", [
    lambda: bm.text.AWDLSTMLanguageModel(bm.text.AWDLSTMConfig(vocab_size=60_000)),  # lessons'
    lambda: bm.text.AWDLSTMClassifier(bm.text.TextClassifierConfig(
        encoder=bm.text.AWDLSTMConfig(vocab_size=60_000), n_classes=2)),
    lambda: bm.collab.EmbeddingDotBias(bm.collab.EmbeddingDotBiasConfig(
        50, n_users=611, n_items=9725, y_range=(0, 5.5))),
    lambda: bm.collab.EmbeddingNN(bm.collab.EmbeddingNNConfig(((611, 74), (9725, 335)))),
    lambda: bm.tabular.TabularModel(bm.tabular.TabularModelConfig(
        emb_szs=((10, 6), (17, 8), (8, 5), (16, 8), (7, 5), (6, 4), (3, 3), (43, 13)),
        num_continuous=6, out_features=2, layers=(200, 100))),
], ids=["lm", "classifier", "collab_dot", "collab_nn", "tabular"])
def test_real_sizes_fit_their_budget(build):
    """The meta-device budget admits full-size models: only allocations count, never views."""
    with torch.device("meta"):
        model = build()
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    check_model_fits(model_spec(model), shapes, "real.brisk")
