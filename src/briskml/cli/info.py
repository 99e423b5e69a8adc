"""`briskml info`: what an exported model is: the file's own figures plus what the loaded learner
says of itself (`learn.describe()`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from briskml import __version__
from briskml.cli._common import check_input_file, describe_file_size
from briskml.errors import FileFormatError
from briskml.export import load_learner
from briskml.persist import read_bundle
from briskml.resume import CONTENT as CHECKPOINT_CONTENT
from briskml.schema import expect_key, expect_optional, in_file
from briskml.text.tokenizer import check_tokenizer_json
from briskml.text.transfer import ENCODER_CONTENT, ENCODER_FIELDS, check_encoder_config
from briskml.text.vocab import check_vocab_dict

_MAX_VALUE_CHARS = 72


def info(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="An exported model (.brisk).",
                                          show_default=False)],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the file's whole JSON document instead.")] = False,
) -> None:
    """Describe an exported model (kind, model and config, inputs, classes, metrics, size), a
    text encoder file, or a training checkpoint (where it stopped, the epochs so far).

    Only the file is read: no training data is needed and no code in the file runs.

    Example: briskml info adult.brisk
    """
    check_input_file(model, "MODEL")
    tensors, document = read_bundle(model)
    if as_json:
        print(json.dumps(document, indent=2))
        return
    if document.get("content") == ENCODER_CONTENT:
        with in_file(str(model), "encoder description"):
            described = describe_encoder(document)
        lines = [("file", f"{model} ({describe_file_size(model)})"), *described,
                 _weights(tensors, "encoder.")]
    elif document.get("content") == CHECKPOINT_CONTENT:
        with in_file(str(model), "training checkpoint"):
            lines = _checkpoint_lines(model, tensors, document)
    elif document.get("content") != "learner":
        raise FileFormatError(f"'{model}' is a checkpoint from learn.save(), not an exported "
                              "learner; `briskml info` reads files written by learn.export().")
    else:
        lines = _learner_lines(model, tensors, document)
    width = max(len(label) for label, _ in lines) + 2
    for label, text in lines:
        print(f"{label:<{width}}{text}")


def _learner_lines(path: Path, tensors: dict[str, Any], document: dict[str, Any]
                   ) -> list[tuple[str, str]]:
    learn = load_learner(path)
    described = {**learn.describe(), "metrics": document.get("metrics") or []}
    lines = _general(path, tensors, described)
    lines += [(key.replace("_", " "), _listed(value))
              for key, value in (described.get("pipeline") or {}).items() if key != "kind"]
    if not learn.predicts_tables:   # `briskml predict` refuses it: say what to run instead
        lines.append(("use", learn.table_alternative.replace("MODEL", str(path))))
    return lines + _at_export(document)


def _checkpoint_lines(path: Path, tensors: dict[str, Any], document: dict[str, Any]
                      ) -> list[tuple[str, str]]:
    """A training checkpoint: where it stopped, and the history it holds."""
    position = document["position"]
    history = document.get("callbacks", {}).get("Recorder", {}).get("values", [])
    lines = [("file", f"{path} ({describe_file_size(path)})"),
             ("content", f"training checkpoint of {document.get('method')}() "
                         f"(stage {position['stage']})"),
             ("model", str(document.get("model", {}).get("name"))),
             ("resumes at", f"epoch {position['epoch']} of {position['n_epoch']}, batch "
                            f"{position['batch']}"),
             ("iteration", f"{position['train_iter']} of {position['total_train_iters']}"),
             _weights(tensors, "model.")]
    for row in history:
        scores = ", ".join(f"{name} {_number(value)}" for name, value in row.items()
                           if name not in ("epoch", "time"))
        lines.append((f"epoch {row.get('epoch')}", scores))
    return lines


def _weights(tensors: dict[str, Any], prefix: str) -> tuple[str, str]:
    unique = {id(tensor): tensor for name, tensor in tensors.items() if name.startswith(prefix)}
    num_values = sum(tensor.numel() for tensor in unique.values())
    return "weights", f"{num_values:,} numbers in {len(unique)} tensors"


def _general(path: Path, tensors: dict[str, Any], described: dict[str, Any]
             ) -> list[tuple[str, str]]:
    lines = [
        ("file", f"{path} ({describe_file_size(path)})"),
        ("kind", str(described["kind"])),
        ("model", str(described["model"])),
    ]
    lines += [(f"  {key}", _short(value)) for key, value in (described["config"] or {}).items()]
    lines.append(_weights(tensors, "model."))
    lines.append(("loss", str(described["loss"])))
    lines.append(("metrics", _listed(described["metrics"])))
    return lines


def _at_export(document: dict[str, Any]) -> list[tuple[str, str]]:
    lines = []
    last = document.get("last_epoch")
    if last:
        values = ", ".join(f"{name} {_number(value)}" for name, value in last.items()
                           if name not in ("epoch", "time"))
        lines.append(("at export", f"after epoch {last.get('epoch')}: {values}"))
    else:
        lines.append(("at export", "not trained (no epoch recorded)"))
    written_by = document.get("briskml_version", "0.1.0")
    version = f"export format v{document.get('export_version', 1)} (briskml {written_by})"
    lines.append(("format", f"{version}, read by briskml {__version__}"))
    return lines


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _short(value: Any) -> str:
    if isinstance(value, dict):  # a nested config (a classifier's encoder): name=value pairs
        text = ", ".join(f"{name}={json.dumps(item)}" for name, item in value.items())
    else:
        text = json.dumps(value)
    return _short_text(text)


def _listed(value: Any) -> str:
    """A pipeline description's value on one line: lists counted, mappings as name=value."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return _short_text(f"{len(value)}: {', '.join(_item(item) for item in value)}"
                           if value else "none")
    if isinstance(value, dict):
        return _short_text(", ".join(f"{name}={_number(item)}" for name, item in value.items()))
    return _short_text(_number(value))


def _short_text(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS - 3] + "..."


def _item(value: Any) -> str:
    """A list item as text; strings with spaces or line breaks (tokens such as "\\n\\n") quoted."""
    if isinstance(value, str) and (not value.isprintable() or value.strip() != value or not value):
        return repr(value)
    return str(value)


# ----- encoder files -------------------------------------------------------------------------
def _describe_vocabulary(tokens: list[str], tokenizer: dict[str, Any] | None
                         ) -> list[tuple[str, str]]:
    words = [token for token in tokens if token.isalpha() and not token.startswith("xx")][:5]
    settings = (tokenizer or {}).get("settings", {"kind": "word (the default)"})
    described = ", ".join(f"{name} {settings[name]}" for name in
                          ("kind", "lang", "model_type", "vocab_sz") if name in settings)
    return [("vocabulary", f"{len(tokens):,} tokens, e.g. {', '.join(words)}"),
            ("tokenizer", described)]


def describe_encoder(document: dict[str, Any]) -> list[tuple[str, str]]:
    """`briskml info` lines for an encoder file (learn.save_encoder, `text lm --encoder-out`);
    its fields are checked first (a SchemaError names a damaged one)."""
    config = check_encoder_config(expect_key(document, "config", ""), "config")
    tokens, _ = check_vocab_dict(expect_key(document, "vocab", ""), "vocab")
    tokenizer = expect_optional(document.get("tokenizer"), "tokenizer", check_tokenizer_json)
    sizes = ", ".join(f"{name} {config[name]}" for name in ENCODER_FIELDS)
    return [("content", "a text encoder (embedding and LSTMs) with its vocabulary"),
            ("sizes", sizes), *_describe_vocabulary(tokens, tokenizer),
            ("use", "briskml text classify DATA --label-col COLUMN --encoder FILE")]
