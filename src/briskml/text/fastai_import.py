"""import_fastai_lm: fastai's published AWD-LSTM language models (a .pth state dict and an itos
.pkl word list) as a briskml language model, read without running any code from the files.

The weights go through `torch.load(weights_only=True)`. The word list is never unpickled and
no pickle module is imported: a small hand-written reader decodes only the bytes that spell a list
of strings and refuses everything else, so no object can come out of the file but that list.
This is the only place briskml reads a pickle-based format (fastai publishes its models that
way), and it writes none: everything briskml saves is safetensors + JSON (tests/test_persist.py
checks that no module imports pickle and that no other module does pickle-based I/O).

Example:
    >>> learn = import_fastai_lm("lstm_fwd.pth", "itos_wt103.pkl")
    >>> learn.export("wt103_fwd.brisk")    # then language_model_learner(..., pretrained=...)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from briskml.checkpoint import load_model_state
from briskml.errors import FileFormatError
from briskml.text.awd_lstm import LM_DROPOUTS, AWDLSTMConfig, AWDLSTMLanguageModel
from briskml.text.lm_learner import LanguageModelLearner
from briskml.text.pipeline import TextPipeline
from briskml.text.tokenizer import Tokenizer
from briskml.text.tokenizer.rules import PAD, SPECIAL_TOKENS, UNK
from briskml.text.vocab import Vocab

# fastai's LSTM parameter names (inside "0.rnns.<i>.") -> ours (inside "encoder.layers.<i>.").
_LAYER_NAMES = {"module.weight_ih_l0": "weight_ih", "weight_hh_l0_raw": "weight_hh",
                "module.bias_ih_l0": "bias_ih", "module.bias_hh_l0": "bias_hh"}
_LAYER_KEY = re.compile(r"^0\.rnns\.(\d+)\.(.+)$")


# fastai's word list is a pickle. Unpickling runs whatever the file names, and even Python's
# opcode disassembler comes from the pickle machinery, so this is a reader written by hand (that
# is the safety it buys): it decodes only the opcodes that spell a list of strings, in any
# protocol, and refuses every other byte. Opcode -> (name, how its argument is stored).
_OPCODES = {
    b"\x80": ("PROTO", 1), b"\x95": ("FRAME", 8), b".": ("STOP", 0), b"(": ("MARK", 0),
    b"]": ("EMPTY_LIST", 0), b"l": ("LIST", 0), b"a": ("APPEND", 0), b"e": ("APPENDS", 0),
    b"V": ("UNICODE", "line"), b"\x8c": ("SHORT_BINUNICODE", 1), b"X": ("BINUNICODE", 4),
    b"\x8d": ("BINUNICODE8", 8), b"\x94": ("MEMOIZE", 0), b"p": ("PUT", "line"),
    b"q": ("BINPUT", 1), b"r": ("LONG_BINPUT", 4), b"g": ("GET", "line"), b"h": ("BINGET", 1),
    b"j": ("LONG_BINGET", 4), b"c": ("GLOBAL", "two lines"), b"\x93": ("STACK_GLOBAL", 0),
}
_LENGTH_PREFIXED_STRINGS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"})
_STRINGS = _LENGTH_PREFIXED_STRINGS | {"UNICODE"}
_MARK = object()


def _opcodes(data: bytes, path: str | os.PathLike) -> Iterator[tuple[str, Any]]:
    """(name, argument) for each opcode up to STOP; strings come out decoded."""
    position = 0
    while position < len(data):
        code = data[position:position + 1]
        if code not in _OPCODES:
            raise FileFormatError(f"'{path}' is not a pickled list of words: it uses the pickle "
                                  f"opcode {code!r} at byte {position}, which a list of strings "
                                  "never needs.")
        name, layout = _OPCODES[code]
        position += 1
        if isinstance(layout, int):
            number = int.from_bytes(data[position:position + layout], "little")
            position += layout
            argument: Any = number
            if name in _LENGTH_PREFIXED_STRINGS:
                argument = data[position:position + number].decode("utf-8")
                position += number
        elif layout == "line":
            end = data.index(b"\n", position)
            line = data[position:end]
            position = end + 1
            argument = line.decode("raw-unicode-escape") if name == "UNICODE" else int(line)
        elif layout == "two lines":
            first = data.index(b"\n", position)
            second = data.index(b"\n", first + 1)
            argument = data[position:second].decode("ascii").replace("\n", ".")
            position = second + 1
        else:
            argument = None
        if name == "STOP":
            return
        yield name, argument
    raise FileFormatError(f"'{path}' is not a pickled list of words: it ends without STOP.")


def read_itos(path: str | os.PathLike) -> list[str]:
    """fastai's itos file: a pickled list of token strings (nothing else is accepted)."""
    data = Path(path).read_bytes()
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    try:
        for name, arg in _opcodes(data, path):
            if name in _STRINGS:
                stack.append(arg)
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "MARK":
                stack.append(_MARK)
            elif name == "APPEND":
                item = stack.pop()
                stack[-1].append(item)
            elif name in ("APPENDS", "LIST"):  # the items since the last MARK
                mark = len(stack) - 1 - stack[::-1].index(_MARK)
                items = stack[mark + 1:]
                del stack[mark:]
                if name == "LIST":
                    stack.append(items)
                else:
                    stack[-1].extend(items)
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                where = arg if name == "GLOBAL" else ".".join(stack[-2:])
                raise FileFormatError(f"'{path}': refusing to load {where}: a word list holds "
                                      "only strings.")
    except FileFormatError:
        raise
    except (ValueError, IndexError, KeyError, AttributeError, TypeError) as error:
        raise FileFormatError(f"'{path}' is not a pickled list of words ({error}).") from error
    words = stack[0] if len(stack) == 1 else None
    if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
        raise FileFormatError(f"'{path}' must hold a list of strings; got "
                              f"{type(words).__name__}.")
    return words


def read_fastai_weights(path: str | os.PathLike) -> dict[str, Tensor]:
    """A fastai language model's state dict, read with torch.load(weights_only=True)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for files it refuses
        raise FileFormatError(f"'{path}' could not be read as a weights-only torch file "
                              f"({error}).") from error
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # saved together with an optimizer
    if not isinstance(state, dict) or "0.encoder.weight" not in state:
        raise FileFormatError(f"'{path}' is not a fastai AWD-LSTM language model (no "
                              "'0.encoder.weight').")
    return dict(state)


def fastai_config(state: dict[str, Tensor]) -> AWDLSTMConfig:
    """The architecture a fastai state dict implies, with the lessons' LM dropout."""
    vocab_size, emb_sz = state["0.encoder.weight"].shape
    layers = sorted({int(match.group(1)) for key in state if (match := _LAYER_KEY.match(key))})
    n_hid = state[f"0.rnns.{layers[0]}.weight_hh_l0_raw"].shape[1] if len(layers) > 1 else emb_sz
    decoder = state.get("1.decoder.weight")
    tied = decoder is None or torch.equal(decoder, state["0.encoder.weight"])
    return AWDLSTMConfig(vocab_size=int(vocab_size), emb_sz=int(emb_sz), n_hid=int(n_hid),
                         n_layers=len(layers), tie_weights=tied,
                         out_bias="1.decoder.bias" in state, **LM_DROPOUTS)


def convert_fastai_state(state: dict[str, Tensor], config: AWDLSTMConfig) -> dict[str, Tensor]:
    """fastai's parameter names mapped onto AWDLSTMLanguageModel's."""
    converted = {"encoder.embedding.weight": state["0.encoder.weight"]}
    for key, value in state.items():
        match = _LAYER_KEY.match(key)
        if match and match.group(2) in _LAYER_NAMES:
            converted[f"encoder.layers.{match.group(1)}.{_LAYER_NAMES[match.group(2)]}"] = value
    converted["decoder.weight"] = state.get("1.decoder.weight", state["0.encoder.weight"])
    if config.out_bias:
        converted["decoder.bias"] = state["1.decoder.bias"]
    return converted


def _vocab_from_itos(words: list[str], source: str) -> Vocab:
    """A Vocab in the file's own order; its leading xx-tokens are its special tokens."""
    specials = []
    for word in words:
        if word not in SPECIAL_TOKENS:
            break
        specials.append(word)
    if UNK not in specials or PAD not in specials:
        raise FileFormatError(f"'{source}' does not start with fastai's special tokens "
                              f"(xxunk, xxpad, ...); got {words[:5]}.")
    return Vocab(words, special_tokens=specials)


def import_fastai_lm(weights_path: str | os.PathLike, itos_path: str | os.PathLike,
                     device: str | torch.device | None = "cpu") -> LanguageModelLearner:
    """A LanguageModelLearner (for inference, generation and export) holding fastai's weights.

    Export it (`learn.export("wt103.brisk")`) to fine-tune from it with `pretrained=`.

    Example:
        >>> learn = import_fastai_lm("lstm_fwd.pth", "itos_wt103.pkl")
        >>> learn.predict("The history of", n_words=20)
    """
    state = read_fastai_weights(weights_path)
    vocab = _vocab_from_itos(read_itos(itos_path), str(itos_path))
    config = fastai_config(state)
    if len(vocab) != config.vocab_size:
        raise FileFormatError(f"'{itos_path}' lists {len(vocab)} words but the embedding in "
                              f"'{weights_path}' has {config.vocab_size} rows; use the itos file "
                              "published with these weights.")
    model = AWDLSTMLanguageModel(config)
    load_model_state(model, convert_fastai_state(state, config), str(weights_path))
    return LanguageModelLearner(None, model, pipeline=TextPipeline(Tokenizer(), vocab),
                                device=device, progress=False)
