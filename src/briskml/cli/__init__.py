"""The `briskml` command: one subcommand per application, thin over the Python API.

Each module parses its options into the calls a Python user would make (STYLE §10): `tabular` and
`collab` (train, recommend, and their `lr-find`), `text` (pretrain, lm, classify, generate, and the
`lr-find` of lm and classify), `predict` and `info` (any exported model: they ask the loaded
learner, `learn.predict_table` and `learn.describe()`), `datasets`, `demo`. An application adds its
module with a Typer app, wired below.

Exit status, for every command: 0 done; 2 a usage error (unknown option, bad value) or a user
error (every BriskError: bad data, bad file, bad argument; a missing or existing file), each one
`error:` line on stderr (after its traceback with --debug); 130 interrupted (Ctrl-C), one
`interrupted` line. Any other exception is a bug in briskml: it keeps its traceback (status 1).
The console script starts through `briskml_entry.run`, so a Ctrl-C while briskml is still
importing torch exits 130 too.
"""

from __future__ import annotations

import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from briskml.cli import collab, datasets, demo, info, predict, tabular, text
from briskml.errors import BriskError

app = typer.Typer(help="briskml: fast deep learning for tables, ratings and text.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode="markdown")

lr_find_app = typer.Typer(help="Sweep the learning rate on a model built from your data (the "
                          "same options as train) and print the suggested rates.",
                          no_args_is_help=True)
lr_find_app.command("tabular")(tabular.lr_find)
lr_find_app.command("collab")(collab.lr_find)
lr_find_app.command("text-lm")(text.lr_find_lm)
lr_find_app.command("text-classify")(text.lr_find_classifier)

app.add_typer(tabular.app, name="tabular")
app.add_typer(collab.app, name="collab")
app.add_typer(text.app, name="text")
app.add_typer(lr_find_app, name="lr-find")
app.command("predict")(predict.predict)
app.command("info")(info.info)
app.add_typer(datasets.app, name="datasets")
app.command("demo")(demo.demo)

# What a user can get wrong: each prints one line and exits with status 2.
USER_ERRORS = (BriskError, FileNotFoundError, FileExistsError, IsADirectoryError,
               NotADirectoryError, PermissionError)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130   # 128 + SIGINT, as a shell reports a Ctrl-C (briskml_entry exits so too)
_state = {"debug": False}


@app.callback()
def _options(debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks instead of one-line errors.")] = False) -> None:
    _state["debug"] = debug


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: a usage or user error prints one `error:` line (after its traceback with
    --debug) and exits with status 2; a Ctrl-C prints `interrupted` and exits with 130."""
    _state["debug"] = False
    try:
        with _one_line_warnings():
            code = app(args=list(argv) if argv is not None else None, prog_name="briskml",
                       standalone_mode=False)
    except typer.TyperException as error:  # a usage error: unknown option, bad value ...
        _report_usage_error(error)
    except USER_ERRORS as error:
        if _state["debug"]:
            traceback.print_exc()
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except (KeyboardInterrupt, typer.Abort):   # older typer turns a Ctrl-C into Abort
        _interrupted()
    if code == EXIT_INTERRUPTED:   # typer turns a Ctrl-C inside a command into this status
        _interrupted()
    if isinstance(code, int) and code:
        sys.exit(code)


def _interrupted() -> None:
    print("interrupted", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)


def _report_usage_error(error: Any) -> None:
    if type(error).__name__ == "NoArgsIsHelpError":  # `briskml tabular` alone: show its help
        error.show()
    else:
        context = getattr(error, "ctx", None)
        command = context.command_path if context is not None else "briskml"
        print(f"error: {_one_line(error.format_message())} (see '{command} --help')",
              file=sys.stderr)
    sys.exit(EXIT_USER_ERROR)   # typer's other errors (exit_code 1) are usage errors too


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Warnings read `warning: <message>` on stderr, without the source line."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        print(f"warning: {_one_line(str(message))}", file=sys.stderr)

    original = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original
