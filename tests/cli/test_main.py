"""The command as a whole: help on every command, one-line errors with status 2, --debug."""

from __future__ import annotations

import pytest

from tests.cli.conftest import ADULT, run_briskml, run_cli

COMMANDS = [["tabular", "train"], ["collab", "train"], ["collab", "recommend"],
            ["text", "pretrain"], ["text", "lm"], ["text", "classify"], ["text", "generate"],
            ["lr-find", "tabular"], ["lr-find", "collab"], ["lr-find", "text-lm"],
            ["lr-find", "text-classify"], ["predict"], ["info"],
            ["datasets", "list"], ["datasets", "path"], ["datasets", "fetch"], ["demo"]]


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.code == 0
    for name in ("tabular", "collab", "text", "lr-find", "predict", "info", "datasets", "demo"):
        assert name in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = run_cli(*command, "--help")
    assert result.code == 0
    assert f"Example: briskml {command[0]}" in result.stdout


def test_a_group_without_a_command_shows_its_help():
    result = run_cli("tabular")
    assert "train" in result.stdout + result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["tabular", "train", ADULT, "--y", "salary", "--bogus"], "No such option: --bogus"),
    (["tabular", "train", ADULT, "--y", "salary"], "Missing option '--out'"),
    (["tabular", "train", ADULT, "--y", "salary", "--epochs", "0", "--out", "m.brisk"],
     "Invalid value for '--epochs'"),
    (["collab", "train", "r.csv", "--y-range", "0", "--out", "m.brisk"], "--y-range"),
    (["nonsense"], "No such command 'nonsense'"),
])
def test_a_usage_error_is_one_line_with_status_2(args, message):
    result = run_cli(*args)
    assert result.code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr and "--help" in result.stderr


def test_a_user_error_is_one_line_and_debug_adds_the_traceback(tmp_path):
    result = run_cli("info", tmp_path / "missing.brisk")
    assert result.code == 2
    assert result.stderr == f"error: No such file: '{tmp_path / 'missing.brisk'}' (MODEL).\n"
    debug = run_cli("--debug", "info", tmp_path / "missing.brisk")
    assert debug.code == 2
    assert "Traceback" in debug.stderr and debug.stderr.endswith(result.stderr)


def test_as_a_separate_process_an_error_is_one_line_with_status_2(tmp_path):
    result = run_briskml("tabular", "train", "missing.csv", "--y", "a", "--out", "m.brisk",
                         cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "error: No such file: 'missing.csv' (DATA).\n"


def test_a_table_that_is_not_utf8_is_refused_with_its_byte_offset(tmp_path):
    from briskml.cli._common import iter_table_chunks, read_table
    from briskml.errors import DataError

    table = tmp_path / "rows.csv"
    table.write_bytes(b"age,city\n30,Paris\n41,S\xe3o Paulo\n")
    with pytest.raises(DataError, match=r"byte offset 22 \(line 3\)"):
        read_table(table)
    with pytest.raises(DataError, match="byte offset 22"):
        list(iter_table_chunks(table, 1))
