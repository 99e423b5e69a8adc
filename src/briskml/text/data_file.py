"""What a TextData file (`TextData.save`) holds, checked before anything is built from it.

The JSON is checked field by field (the pipeline as `TextPipeline.from_json` checks it, the
settings), then the arrays against each other and the pipeline: token ids within the vocabulary,
offsets spanning them, document positions within the documents, one label per document within the
classes. Anything else is a FileFormatError that names the file and the field.

Example:
    >>> arrays, pipeline, settings = read_text_data("imdb.textdata")
"""

from __future__ import annotations

import base64
import os
from typing import Any

import numpy as np

from briskml.errors import FileFormatError
from briskml.schema import expect_bool, expect_dict, expect_int, expect_key, fail, in_file
from briskml.text.arrays import read_arrays
from briskml.text.pipeline import TextPipeline
from briskml.text.tokenizer import BaseTokenizer

# The tokenizer state briskml 0.1.0 saved as arrays of a TextData file.
_TOKENIZER_ARRAYS_0_1_0 = ("sentencepiece_model",)
_ARRAYS = ("ids", "offsets", "train_docs", "valid_docs", "labels", *_TOKENIZER_ARRAYS_0_1_0)
_SETTINGS = ("for_lm", "bs", "seq_len", "backwards")
_FIX = "Save the data again with data.save(path)."


def read_text_data(path: str | os.PathLike, tokenizer: BaseTokenizer | None = None
                   ) -> tuple[dict[str, np.ndarray], TextPipeline, dict[str, Any]]:
    """(arrays memory-mapped, pipeline, settings) of a TextData file, every part checked;
    `tokenizer` replaces the saved one (custom rules)."""
    arrays, meta = read_arrays(path, mmap=True)
    if meta.get("kind") != "text_data":
        raise FileFormatError(f"'{path}' holds {meta.get('kind')!r}, not TextData.")
    with in_file(str(path), "text data", _FIX):
        pipeline = TextPipeline.from_json(_pipeline_json(meta, arrays, f"'{path}'"), str(path),
                                          tokenizer)
        settings = _check_settings(expect_key(meta, "settings", ""), pipeline)
        _check_arrays(arrays, pipeline, settings["for_lm"])
    return arrays, pipeline, settings


def _check_settings(value: Any, pipeline: TextPipeline) -> dict[str, Any]:
    """A TextData file's settings, checked field by field (a SchemaError names the field)."""
    value = expect_dict(value, "settings")
    for name in value:
        if name not in _SETTINGS:
            raise fail(f"settings.{name}", f"is not a TextData setting (those are {_SETTINGS})")
    saved = {"for_lm": expect_bool(expect_key(value, "for_lm", "settings"), "settings.for_lm"),
             "bs": expect_int(expect_key(value, "bs", "settings"), "settings.bs", 1),
             "seq_len": expect_int(expect_key(value, "seq_len", "settings"), "settings.seq_len",
                                   1),
             "backwards": expect_bool(value.get("backwards", pipeline.backwards),
                                      "settings.backwards")}
    if saved["backwards"] != pipeline.backwards:
        raise fail("settings.backwards", f"is {saved['backwards']} but pipeline.backwards is "
                   f"{pipeline.backwards}")
    if saved["for_lm"] != (pipeline.classes is None):
        raise fail("settings.for_lm", f"is {saved['for_lm']} but pipeline.classes is "
                   f"{'null' if pipeline.classes is None else 'a list'}: language-model data "
                   "has no classes, classifier data has them")
    return saved


def _check_arrays(arrays: dict[str, np.ndarray], pipeline: TextPipeline, for_lm: bool) -> None:
    """A TextData file's arrays against each other and its pipeline: ids within the vocabulary,
    offsets spanning them, document positions within the documents, labels within the classes
    (a SchemaError names the array)."""
    for name in arrays:
        if name not in _ARRAYS:
            raise fail(f"arrays['{name}']", "is not an array of TextData")
    ids = _int_array(arrays, "ids", 0, len(pipeline.vocab))
    offsets = _int_array(arrays, "offsets", 0, len(ids) + 1)
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(ids) or \
            np.any(np.diff(offsets) < 0):
        raise fail("arrays['offsets']", f"must rise from 0 to the number of ids ({len(ids)})")
    num_docs = len(offsets) - 1
    _int_array(arrays, "train_docs", 0, num_docs)
    if "valid_docs" in arrays:
        _int_array(arrays, "valid_docs", 0, num_docs)
    if for_lm:
        if "labels" in arrays:
            raise fail("arrays['labels']", "must be absent from language-model data")
        return
    labels = _int_array(arrays, "labels", 0, len(pipeline.classes or []))
    if len(labels) != num_docs:
        raise fail("arrays['labels']", f"holds {len(labels)} labels for {num_docs} documents")


def _int_array(arrays: dict[str, np.ndarray], name: str, low: int, high: int) -> np.ndarray:
    """arrays[name], a 1-D integer array whose values are in [low, high)."""
    field = f"arrays['{name}']"
    if name not in arrays:
        raise fail(field, "is missing")
    values = arrays[name]
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise fail(field, f"must be a 1-D integer array; got {values.dtype} {values.shape}")
    if len(values) and (int(values.min()) < low or int(values.max()) >= high):
        raise fail(field, f"holds values outside [{low}, {high})")
    return values


def _pipeline_json(meta: dict[str, Any], arrays: dict[str, np.ndarray], source: str
                   ) -> dict[str, Any]:
    """The saved pipeline; files of briskml 0.1.0 kept the vocabulary, the tokenizer's options
    and the classes apart, and a trained tokenizer's state as arrays beside the tokens."""
    if "pipeline" in meta:
        return meta["pipeline"]
    tokenizer = meta.get("tokenizer")
    if not isinstance(tokenizer, dict) or "vocab" not in meta:
        raise FileFormatError(f"{source} holds no vocabulary or tokenizer; save the data again.")
    state = {name: base64.b64encode(np.asarray(arrays[name]).tobytes()).decode("ascii")
             for name in _TOKENIZER_ARRAYS_0_1_0 if name in arrays}
    settings = meta.get("settings")
    backwards = settings.get("backwards", False) if isinstance(settings, dict) else False
    return {"vocab": meta["vocab"], "tokenizer": {"settings": tokenizer, "state": state},
            "backwards": backwards, "classes": meta.get("classes")}
