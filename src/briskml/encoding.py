"""Text files are UTF-8: one rule for bytes that are not.

Invalid bytes are refused (`encoding_errors="strict"`, the default) with an error that names the
file and the byte offset of the first bad sequence, or, when asked (`encoding_errors="replace"`,
`--encoding-errors replace`), read as U+FFFD with a warning that names the files. Every reader of
text files in briskml.text (folders, corpora, CSV tables) follows it.

Example:
    >>> text = decode_utf8(path.read_bytes(), str(path), "strict")
    >>> first_invalid_utf8(Path("reviews.csv.gz"))    # (offset, line, bytes) or None
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from briskml.checks import check_one_of
from briskml.errors import DataError, warn

ENCODING_ERRORS = ("strict", "replace")
_CHUNK_BYTES = 1 << 20
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def check_encoding_errors(value: str, name: str = "encoding_errors") -> str:
    """`value` when it is 'strict' (refuse invalid UTF-8) or 'replace' (read it as U+FFFD)."""
    return check_one_of(value, ENCODING_ERRORS, name, "Use 'replace' to read invalid bytes as "
                        "U+FFFD.")


def invalid_utf8_error(source: str, offset: int, line: int, data: bytes) -> DataError:
    """The error for a file that is not UTF-8: the file, the byte offset and line, the fix."""
    shown = " ".join(f"0x{byte:02X}" for byte in data[:4])
    return DataError(
        f"'{source}' is not valid UTF-8: the byte(s) {shown} at byte offset {offset} (line "
        f"{line}) cannot be decoded. Re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), "
        "or pass encoding_errors='replace' (--encoding-errors replace on the command line) to "
        "read invalid bytes as U+FFFD.")


def decode_utf8(data: bytes, source: str, encoding_errors: str = "strict") -> str:
    """`data` as UTF-8 text: invalid bytes are refused (DataError naming `source` and the byte
    offset) or, with encoding_errors="replace", read as U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if encoding_errors == "replace":
            return data.decode("utf-8", errors="replace")
        line = data.count(b"\n", 0, error.start) + 1
        raise invalid_utf8_error(source, error.start, line,
                                 data[error.start:error.end]) from None


def read_utf8_files(paths: Sequence[str | os.PathLike], encoding_errors: str = "strict"
                    ) -> list[str]:
    """Text files' contents under the rule of this module (see `decode_utf8`); with "replace",
    one warning names the files whose bytes were replaced."""
    texts, replaced = [], []
    for path in paths:
        data = Path(path).read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(decode_utf8(data, str(path), encoding_errors))
            replaced.append(Path(path))
    warn_replaced(replaced)
    return texts


def first_invalid_utf8(path: str | os.PathLike) -> tuple[int, int, bytes] | None:
    """(byte offset, line, bad bytes) of the first invalid UTF-8 in a text file (read in chunks,
    decompressed when named .gz, .bz2 or .xz), or None when it is all valid."""
    path = Path(path)
    opener = _OPENERS.get(path.suffix.lower(), open)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    position, lines = 0, 0   # bytes fed to the decoder so far, and newlines among them
    with opener(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            pending = decoder.getstate()[0]   # an unfinished sequence (never a newline)
            data = pending + chunk
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                offset = position - len(pending) + error.start
                line = lines + data.count(b"\n", 0, error.start) + 1
                return offset, line, data[error.start:error.end]
            if not chunk:
                return None
            position += len(chunk)
            lines += chunk.count(b"\n")


def check_utf8_file(path: str | os.PathLike, encoding_errors: str = "strict") -> bool:
    """Refuse a text file that is not UTF-8 (strict), or warn that its invalid bytes will be read
    as U+FFFD (replace); True when the file holds invalid bytes."""
    found = first_invalid_utf8(path)
    if found is None:
        return False
    if encoding_errors != "replace":
        raise invalid_utf8_error(str(path), *found)
    warn_replaced([Path(path)])
    return True


def replaced_message(paths: list[Path]) -> str | None:
    """What to say about files whose invalid UTF-8 was read as U+FFFD (None when there are none)."""
    if not paths:
        return None
    shown = ", ".join(f"'{path}'" for path in paths[:5])
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return (f"{len(paths)} file(s) are not valid UTF-8: {shown}{more}. Their invalid bytes were "
            "read as U+FFFD (encoding_errors='replace'); re-encode them as UTF-8 to keep every "
            "character.")


def warn_replaced(paths: list[Path]) -> None:
    """Say which files held invalid UTF-8 that was read as U+FFFD (encoding_errors="replace")."""
    message = replaced_message(paths)
    if message is not None:
        warn(message)


def read_csv_utf8(path: Path, columns: Sequence[str], encoding_errors: str = "strict"
                  ) -> pd.DataFrame:
    """Columns of a CSV file under the rule of this module: bytes that are not UTF-8 are refused
    naming the byte offset (pandas' own error counts from its buffer, not the file), or read as
    U+FFFD with a warning (encoding_errors="replace")."""
    if encoding_errors == "replace":
        check_utf8_file(path, "replace")
    try:
        return pd.read_csv(path, usecols=list(columns), encoding_errors=encoding_errors)
    except UnicodeDecodeError as error:
        found = first_invalid_utf8(path)
        if found is None:
            raise
        raise invalid_utf8_error(str(path), *found) from error
