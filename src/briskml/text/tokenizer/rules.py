"""The lessons' text rules: special tokens, pre-rules on raw strings, capitals, and decoding.

Pre-rules run on the raw string before word tokenisation. Rules marked `word_level` never look
across whitespace, so the tokenizer applies them once per distinct whitespace-free chunk of text
instead of once per document (same result, far less work). The capital-letter and word-repetition
rules run after tokenisation, on token ids in bulk (see `briskml.text.tokenizer.engine`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

UNK, PAD, BOS, EOS, FLD = "xxunk", "xxpad", "xxbos", "xxeos", "xxfld"
TK_REP, TK_WREP, TK_UP, TK_MAJ = "xxrep", "xxwrep", "xxup", "xxmaj"
# The order fixes the ids: xxunk = 0 and xxpad = 1, as in the lessons.
SPECIAL_TOKENS: tuple[str, ...] = (UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ)

Rule = Callable[[str], str]

_HTML_FIXES = (
    ("#39;", "'"), ("amp;", "&"), ("#146;", "'"), ("nbsp;", " "), ("#36;", "$"), ("\\n", "\n"),
    ("quot;", "'"), ("<br />", "\n"), ('\\"', '"'), ("<unk>", UNK), (" @.@ ", "."),
    (" @-@ ", "-"), ("...", " …"),
)
_CHARACTER_REPEAT = re.compile(r"(\S)(\1{2,})")
_SPECIAL_CHARACTERS = re.compile(r"([/#\\])")
_SPACES = re.compile(" {2,}")
_WORD = re.compile(r"\w+")


def word_level(rule: Rule) -> Rule:
    """Mark a rule that never looks across whitespace (nor adds newlines): it may then run once
    per distinct whitespace-free chunk, and on many chunks joined by newlines at once."""
    rule.word_level = True  # type: ignore[attr-defined]
    return rule


def fix_html(text: str) -> str:
    """Undo HTML escapes, then the lessons' corpus artefacts (`<br />`, `#39;`, ` @-@ ` ...).

    Unescaping first turns "&amp;" into "&" (fastai's order leaves "&&").
    """
    text = html.unescape(text)
    for old, new in _HTML_FIXES:
        text = text.replace(old, new)
    return text


@word_level
def replace_rep(text: str) -> str:
    """Replace a character repeated 3+ times by `xxrep n c`: "cccc" -> " xxrep 4 c "."""
    return _CHARACTER_REPEAT.sub(_character_repeat, text)


def _character_repeat(match: re.Match) -> str:
    character, repeats = match.groups()
    return f" {TK_REP} {len(repeats) + 1} {character} "


@word_level
def spec_add_spaces(text: str) -> str:
    """Put spaces around `/`, `#` and `\\` so they become tokens of their own."""
    return _SPECIAL_CHARACTERS.sub(r" \1 ", text)


_WORD_REPEAT = re.compile(r"(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)")


def replace_wrep(text: str) -> str:
    """Replace a word repeated 3+ times by `xxwrep n word` (on a string; the word tokenizer
    does the same on token ids)."""
    return _WORD_REPEAT.sub(_word_repeat, text)


def _word_repeat(match: re.Match) -> str:
    word, repeats, end = match.groups()
    return f" {TK_WREP} {len(repeats.split()) + 2} {word} {end}"


def rm_useless_spaces(text: str) -> str:
    """Collapse runs of spaces (the tokenizer already ignores them; kept for custom pipelines)."""
    return _SPACES.sub(" ", text)


# A word of the raw text spelt like one of the tokenizer's own markers would be read back as that
# marker (decode would capitalise the next word, repeat a character, or drop it). xxunk (what
# fix_html makes of WikiText's <unk>) and xxfld (what join_fields writes between fields) are meant.
_MARKER_SUFFIXES = "|".join(marker[2:]
                            for marker in (TK_MAJ, TK_UP, TK_WREP, TK_REP, BOS, EOS, PAD))
_MARKER_WORDS = re.compile(rf"\b(xx)((?:{_MARKER_SUFFIXES})\b)", re.IGNORECASE)


def escape_marker_words(text: str) -> str:
    """Keep a word spelt like a marker (xxmaj, xxup, xxrep, xxbos ...) a word: "XXUP" -> "XX-UP".

    The word tokenizer applies it to every document before its rules: the markers are the
    tokenizer's own, whatever rules a tokenizer was built with.
    """
    return _MARKER_WORDS.sub(r"\1-\2", text)


DEFAULT_RULES: tuple[Rule, ...] = (fix_html, replace_rep, spec_add_spaces)


def rule_name(rule: Rule) -> str:
    """A stable name for a rule, used in cache keys and saved settings."""
    return f"{rule.__module__}.{rule.__qualname__}"


def split_rules(rules: Sequence[Rule]) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """(document-level rules, word-level rules), each in the given order.

    Word-level rules run after every document-level rule; a word-level rule listed before a
    document-level one would see its output, so keep word-level rules last.
    """
    document = tuple(rule for rule in rules if not getattr(rule, "word_level", False))
    words = tuple(rule for rule in rules if getattr(rule, "word_level", False))
    return document, words


def capitals_marker(token: str) -> str | None:
    """The marker a token needs before it is lower-cased: xxup, xxmaj or None.

    All-caps tokens of two or more characters get xxup ("WHOLE" -> xxup whole). A capital followed
    by no other capital gets xxmaj ("Story" -> xxmaj story), single capitals ("A", "I") included,
    so that their case survives decoding; fastai leaves those unmarked and loses their case.
    Mixed case ("McDonald") is only lower-cased, as in fastai.
    """
    if len(token) > 1 and token.isupper():
        return TK_UP
    rest = token[1:]
    if token[:1].isupper() and rest == rest.lower():
        return TK_MAJ
    return None


def is_repeatable_word(token: str) -> bool:
    """Whether a run of this token may become `xxwrep n token` (words and numbers only)."""
    return _WORD.fullmatch(token) is not None


def apply_capitals(text: str, cache: dict[str, str]) -> str:
    """Mark and lower-case every whitespace-separated word of `text` (for subword tokenizers)."""
    pieces = re.split(r"(\s+)", text)
    return "".join([_cached_capitals(piece, cache) for piece in pieces])


def _cached_capitals(word: str, cache: dict[str, str]) -> str:
    marked = cache.get(word)
    if marked is None:
        marker = capitals_marker(word)
        marked = word.lower() if marker is None else f"{marker} {word.lower()}"
        cache[word] = marked
    return marked


# ----- decoding ---------------------------------------------------------------------------------
_CASED_UNKNOWN = re.compile(rf"\b(?:{TK_MAJ}|{TK_UP}) (?={UNK}\b)")
# A case marker with no word after it (another special token next, or the end, as generated text
# can have) has nothing to apply to: it is dropped rather than capitalising the next marker.
_STRAY_CASE = re.compile(rf"\b(?:{TK_MAJ}|{TK_UP})(?: +(?=(?:{TK_MAJ}|{TK_UP}|{TK_REP}|{TK_WREP}|"
                         rf"{BOS}|{EOS}|{PAD}|{FLD})\b)| *$)")
_UNDO_UP = re.compile(rf"\b{TK_UP} (\S+)")
_UNDO_MAJ = re.compile(rf"\b{TK_MAJ} (\S)")
_UNDO_REP = re.compile(rf"\b{TK_REP} (\d+) (\S)")
_UNDO_WREP = re.compile(rf"\b{TK_WREP} (\d+) (\S+)")
_DROPPED = re.compile(rf"\b(?:{BOS}|{EOS}|{PAD})\b ?")
_FIELD = re.compile(rf"\b{FLD}(?: \d+)? ?")
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}…]|n't\b|'(?:s|re|ve|m|ll|d)\b)", re.IGNORECASE)
_NO_SPACE_AFTER = re.compile(r"([(\[{$#]) ")
_SPACES_AROUND_NEWLINES = re.compile(r" *(\s*\n\s*?) *")


def decode_tokens(tokens: Sequence[str]) -> str:
    """Readable text from word tokens: special tokens undone, case restored, punctuation attached.

    Example:
        >>> decode_tokens(["xxbos", "xxmaj", "hello", "xxup", "world", "xxrep", "3", "!"])
        'Hello WORLD!!!'
    """
    return tidy_spacing(undo_special_tokens(" ".join(tokens)))


def tidy_spacing(text: str) -> str:
    """Re-attach punctuation and contractions to their words ("it , do n't" -> "it, don't")."""
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub(r"\1", text)
    return _SPACES_AROUND_NEWLINES.sub(r"\1", text).strip()


def undo_special_tokens(text: str) -> str:
    """Undo xxup/xxmaj/xxrep/xxwrep in space-separated text; drop xxbos, xxeos, xxpad, xxfld n."""
    text = _CASED_UNKNOWN.sub("", text)  # an unknown word stays "xxunk", whatever its case
    text = _STRAY_CASE.sub("", text)
    text = _UNDO_UP.sub(lambda match: match.group(1).upper(), text)
    text = _UNDO_MAJ.sub(lambda match: match.group(1).upper(), text)
    text = _UNDO_REP.sub(lambda match: match.group(2) * int(match.group(1)), text)
    text = _UNDO_WREP.sub(lambda match: " ".join([match.group(2)] * int(match.group(1))), text)
    text = _FIELD.sub("\n", _DROPPED.sub("", text))
    return text.strip()
