"""The worker side of the tokenizer's process pool: one engine per process, batch tasks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from briskml.encoding import decode_utf8
from briskml.text.tokenizer.corpus import ChunkResult
from briskml.text.tokenizer.engine import WordEngine
from briskml.text.tokenizer.rules import Rule, rule_name, split_rules

_ENGINE: WordEngine | None = None


def set_process_engine(engine: WordEngine) -> None:
    """Make `engine` this process's engine (a forked worker inherits it, warm cache and all)."""
    global _ENGINE
    _ENGINE = engine


def init_worker(settings: dict[str, Any], rules: Sequence[Rule]) -> None:
    """Process-pool initializer: reuse an inherited engine with the same settings, or build one."""
    global _ENGINE
    if _ENGINE is None or engine_settings(_ENGINE) != settings:
        document_rules, word_rules = split_rules(rules)
        _ENGINE = WordEngine(settings["lang"], document_rules, word_rules,
                             settings["add_bos"], settings["add_eos"])
    _ENGINE.start_session()


def engine_settings(engine: WordEngine) -> dict[str, Any]:
    """What an engine's output depends on (besides spaCy's version and the rules' code)."""
    return {"lang": engine.lang, "add_bos": engine.add_bos, "add_eos": engine.add_eos,
            "rules": [rule_name(rule) for rule in (*engine.document_rules, *engine.word_rules)]}


def run_texts(texts: list[str]) -> tuple[ChunkResult, list[int]]:
    """Worker task: tokenise a batch of texts (no unreadable files, hence the empty list)."""
    assert _ENGINE is not None, "init_worker did not run"
    return _ENGINE.tokenize_batch(texts), []


def run_files(paths: list[str], encoding_errors: str = "strict"
              ) -> tuple[ChunkResult, list[int]]:
    """Worker task: read and tokenise files; also the positions of files whose invalid UTF-8
    was replaced (with encoding_errors="replace"; "strict" refuses them)."""
    texts, bad = read_text_files(paths, encoding_errors)
    return run_texts(texts)[0], bad


def read_text_files(paths: list[str], encoding_errors: str = "strict"
                    ) -> tuple[list[str], list[int]]:
    """The files' text and the positions of files that were not UTF-8: refused (a DataError
    naming the file and byte offset) or, with encoding_errors="replace", read as U+FFFD."""
    texts, bad = [], []
    for position, path in enumerate(paths):
        data = Path(path).read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(decode_utf8(data, path, encoding_errors))
            bad.append(position)
    return texts, bad
